// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import Coordinates
import Records

/// One arc of the sparse assignment problem: an offer a request may use, at a placement cost.
struct Arc {
    var offer: Int32
    var cost: Double
}

/// Finds each request's candidate arcs (`spec/0016-matching.md` §4.1): the k feasible offers
/// nearest by estimated latency (exact k-nearest over the grid), or every feasible offer on
/// fallback. Every arc passes every hard constraint.
struct CandidateSearch {
    let matcher: Matcher
    let offers: [Offer]
    let index: OfferIndex
    let options: AssignmentOptions

    /// The arcs of request `r`, and whether they are all its feasible offers.
    func nearest(_ r: Int, _ request: MatchRequest, knowledge: (Int, Int) -> MatchKnowledge) -> (arcs: [Arc], complete: Bool) {
        guard let grid = index.grids[request.runtime] else { return ([], true) }
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
                if let found = arc(r, request, Int(members[(start + step) % members.count]), coordinate: nil, knowledge) {
                    best.insert(found.arc, key: found.key)
                }
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
                if best.isFull, bound + coordinate.height >= best.worstKey { complete = false; break }
            }
            for (column, row) in Self.ringCells(home, ring: ring, side: grid.side) {
                for offer in grid.offers(column: column, row: row) {
                    if examined >= options.maxExaminedPerRequest { complete = false; break rings }
                    examined += 1
                    if let found = arc(r, request, Int(offer), coordinate: coordinate, knowledge) {
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
            if let found = arc(r, request, Int(offer), coordinate: coordinate, knowledge) { best.insert(found.arc, key: found.key) }
        }
        return (best.arcs, complete && !best.hasDropped)
    }

    /// Every feasible offer of request `r` (the fallback).
    func all(_ r: Int, _ request: MatchRequest, knowledge: (Int, Int) -> MatchKnowledge) -> [Arc] {
        guard let grid = index.grids[request.runtime] else { return [] }
        let coordinate = request.coordinate.flatMap { $0.dimensions == index.dimensions ? $0 : nil }
        return grid.members.compactMap { arc(r, request, Int($0), coordinate: coordinate, knowledge)?.arc }
    }

    /// The arc from request `r` to `offer` if every constraint passes, with its search key
    /// (the estimated or assumed latency).
    func arc(_ r: Int, _ request: MatchRequest, _ offer: Int, coordinate: VivaldiCoordinate?,
             _ knowledge: (Int, Int) -> MatchKnowledge) -> (arc: Arc, key: Double)?
    {
        let traits = index.traits[offer]
        guard request.now < traits.expiry, traits.cores >= request.cores, traits.memoryBytes >= request.memoryBytes else { return nil }
        if traits.needsFullCheck, matcher.ruleOutBesidesRuntime(request, offers[offer], MatchKnowledge()) != nil { return nil }
        let known = knowledge(r, offer)
        if traits.idleOnly, known.lenderIsBusy == true { return nil }
        var estimate = (ms: matcher.weights.unknownLatencyMs, source: LatencySource.assumed)
        if let coordinate, index.isLocated[offer] { estimate = (index.estimatedLatency(from: coordinate, to: offer), .estimated) }
        var latency = estimate
        if let measured = known.measuredRTTMs, measured.isFinite, measured >= 0 { latency = (measured, .measured) }
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
