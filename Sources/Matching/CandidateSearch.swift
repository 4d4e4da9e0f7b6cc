// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import Coordinates
import Records

/// One arc of the sparse assignment problem: an offer a request may use, at a placement cost.
struct Arc {
    var offer: Int32
    var cost: Double
}

/// Finds each request's candidate arcs (`spec/0016-matching.md` §4.1): in each busy state, the k
/// feasible offers nearest by estimated latency (exact k-nearest over the grid) — for a stranger
/// the cost grows with latency alone there, so they are its k best — plus the offers of the
/// lenders the borrower knows; or every feasible offer on fallback. Every arc passes every hard
/// constraint.
struct CandidateSearch {
    let matcher: Matcher
    let offers: [Offer]
    let index: OfferIndex
    let options: AssignmentOptions

    /// Per offer, what a stranger knows: the lender's busy state only.
    let lenderIsBusy: [Bool?]

    func strangerKnowledge(_ offer: Int) -> MatchKnowledge { MatchKnowledge(lenderIsBusy: lenderIsBusy[offer]) }

    /// The arcs of request `r`: its k nearest feasible offers in each busy state (as a stranger),
    /// then every offer of a lender it knows (`known`, which replace a stranger's arc); and
    /// whether they are all its feasible offers.
    func nearest(_ r: Int, _ request: MatchRequest, known: [(offer: Int, knowledge: MatchKnowledge)]) -> (arcs: [Arc], complete: Bool) {
        var arcs: [Arc] = []
        var complete = true
        for grid in index.grids[request.runtime] ?? [] {
            let found = nearest(r, request, in: grid)
            arcs += found.arcs
            complete = complete && found.complete
        }
        return (merge(arcs, known: known, request), complete)
    }

    /// Every feasible offer of request `r` (the fallback).
    func all(_ r: Int, _ request: MatchRequest, known: [(offer: Int, knowledge: MatchKnowledge)]) -> [Arc] {
        let coordinate = request.coordinate.flatMap { $0.dimensions == index.dimensions ? $0 : nil }
        var arcs: [Arc] = []
        for grid in index.grids[request.runtime] ?? [] {
            arcs += grid.members.compactMap { arc(request, Int($0), coordinate: coordinate, strangerKnowledge(Int($0)))?.arc }
        }
        return merge(arcs, known: known, request)
    }

    /// `arcs` with the known lenders' offers scored with what the borrower knows.
    private func merge(_ arcs: [Arc], known: [(offer: Int, knowledge: MatchKnowledge)], _ request: MatchRequest) -> [Arc] {
        guard !known.isEmpty else { return arcs }
        let coordinate = request.coordinate.flatMap { $0.dimensions == index.dimensions ? $0 : nil }
        var byOffer: [Int32: Double] = [:]
        for arc in arcs { byOffer[arc.offer] = arc.cost }
        for (offer, knowledge) in known where offers.indices.contains(offer) {
            guard !offers[offer].isExpired(now: request.now), offers[offer].runtimes.contains(request.runtime) else { continue }
            var knowledge = knowledge
            if knowledge.lenderIsBusy == nil { knowledge.lenderIsBusy = lenderIsBusy[offer] }
            byOffer[Int32(offer)] = arc(request, offer, coordinate: coordinate, knowledge)?.arc.cost
        }
        return byOffer.map { Arc(offer: $0.key, cost: $0.value) }.sorted { ($0.cost, $0.offer) < ($1.cost, $1.offer) }
    }

    /// The k nearest feasible offers of one grid, as a stranger.
    private func nearest(_ r: Int, _ request: MatchRequest, in grid: RuntimeGrid) -> (arcs: [Arc], complete: Bool) {
        var best = NearestList(capacity: options.candidatesPerRequest)
        var examined = 0
        guard let coordinate = request.coordinate, coordinate.dimensions == index.dimensions else {
            // No comparable coordinate: every latency is assumed; take k feasible offers from a
            // starting point that depends on the request, so requests spread over the offers.
            let members = grid.members
            guard !members.isEmpty else { return ([], true) }
            let start = (r &* 7919) % members.count
            for step in 0..<members.count {
                if best.isFull || examined >= options.maxExaminedPerRequest { return (best.arcs, false) }
                examined += 1
                let offer = Int(members[(start + step) % members.count])
                if let found = arc(request, offer, coordinate: nil, strangerKnowledge(offer)) { best.insert(found.arc, key: found.key) }
            }
            return (best.arcs, true)
        }
        let x = coordinate.vector[0], y = index.dimensions > 1 ? coordinate.vector[1] : 0
        let home = grid.cell(x: x, y: y)
        var complete = true
        var ring = 0
        rings: while true {
            if ring > 0 {
                guard let bound = grid.ringLowerBound(x: x, y: y, column: home.column, row: home.row, ring: ring) else { break }
                if best.isFull, bound + coordinate.height + grid.minHeight >= best.worstKey { complete = false; break }
            }
            for (column, row) in Self.ringCells(home, ring: ring, side: grid.side) {
                let cellDistance = grid.distance(x: x, y: y, column: column, row: row) + coordinate.height
                for offer in grid.offers(column: column, row: row) {
                    // Offers are sorted by height: once one cannot beat the k-th, none after can.
                    if best.isFull, cellDistance + index.height(Int(offer)) >= best.worstKey { complete = false; break }
                    if examined >= options.maxExaminedPerRequest { complete = false; break rings }
                    examined += 1
                    if let found = arc(request, Int(offer), coordinate: coordinate, strangerKnowledge(Int(offer))) {
                        best.insert(found.arc, key: found.key)
                    }
                }
            }
            ring += 1
        }
        // Unlocated offers have the assumed latency.
        for offer in grid.unlocated {
            if examined >= options.maxExaminedPerRequest { complete = false; break }
            if best.isFull, best.worstKey <= matcher.weights.unknownLatencyMs { complete = false; break }
            examined += 1
            if let found = arc(request, Int(offer), coordinate: coordinate, strangerKnowledge(Int(offer))) {
                best.insert(found.arc, key: found.key)
            }
        }
        return (best.arcs, complete && !best.hasDropped)
    }

    /// The arc from the request to `offer` if every constraint passes, with its search key
    /// (the estimated or assumed latency).
    func arc(_ request: MatchRequest, _ offer: Int, coordinate: VivaldiCoordinate?, _ known: MatchKnowledge) -> (arc: Arc, key: Double)? {
        let traits = index.traits[offer]
        guard request.now < traits.expiry, traits.cores >= request.cores, traits.memoryBytes >= request.memoryBytes else { return nil }
        if traits.needsFullCheck || !request.avoided.isEmpty,
           matcher.ruleOutBesidesRuntime(request, offers[offer], MatchKnowledge()) != nil { return nil }
        if traits.ownerPresent { return nil }  // notIdle
        var estimate = (ms: matcher.weights.unknownLatencyMs, source: LatencySource.assumed)
        if let coordinate, index.isLocated[offer] { estimate = (index.estimatedLatency(from: coordinate, to: offer), .estimated) }
        var latency = estimate
        if let measured = known.measuredRTTMs, measured.isFinite, measured >= 0 {
            latency = (measured, .measured)
        } else if let given = known.estimatedRTTMs, given.isFinite, given >= 0 {
            latency = (given, .estimated)
        }
        if matcher.latencyRuleOut(request, latency) != nil { return nil }
        let cost = matcher.components(request, latency: latency, known).placementCostSeconds
        return (Arc(offer: Int32(offer), cost: cost), estimate.ms)
    }

    /// The cells at Chebyshev distance `ring` from `home` that lie inside a `side` × `side` grid.
    static func ringCells(_ home: (column: Int, row: Int), ring: Int, side: Int) -> [(Int, Int)] {
        if ring == 0 { return [(home.column, home.row)] }
        var cells: [(Int, Int)] = []
        let columns = max(0, home.column - ring)...min(side - 1, home.column + ring)
        for row in [home.row - ring, home.row + ring] where row >= 0 && row < side {
            for column in columns { cells.append((column, row)) }
        }
        for column in [home.column - ring, home.column + ring] where column >= 0 && column < side {
            for row in max(0, home.row - ring + 1)...min(side - 1, home.row + ring - 1) {
                cells.append((column, row))
            }
        }
        return cells
    }
}

/// The k arcs with the smallest keys seen so far, kept sorted by key (ties: first seen first).
struct NearestList {
    let capacity: Int
    private(set) var arcs: [Arc] = []
    private var keys: [Double] = []
    /// Whether an arc was ever pushed out or refused for being too far.
    private(set) var hasDropped = false

    init(capacity: Int) { self.capacity = capacity }

    var isFull: Bool { arcs.count >= capacity }
    var worstKey: Double { keys.last ?? .infinity }

    mutating func insert(_ arc: Arc, key: Double) {
        if isFull, key >= worstKey { hasDropped = true; return }
        var position = keys.count
        while position > 0, keys[position - 1] > key { position -= 1 }
        keys.insert(key, at: position)
        arcs.insert(arc, at: position)
        if arcs.count > capacity { keys.removeLast(); arcs.removeLast(); hasDropped = true }
    }
}
