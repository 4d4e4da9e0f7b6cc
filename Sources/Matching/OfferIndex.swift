// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import Coordinates
import Records

/// The batch mode's feasibility and spatial index (`spec/0016-matching.md` §4.1): offers grouped
/// by runtime, and within a runtime a uniform grid over the first two Vivaldi components, so
/// that a request's k nearest feasible offers are found by visiting rings of cells outwards
/// until the ring's lower bound on latency passes the k-th nearest found.
struct OfferIndex {
    /// The dimension of the Vivaldi vectors indexed (the most common among the offers); offers of
    /// another dimension, or without coordinates, are "unlocated" (latency assumed).
    let dimensions: Int
    /// Per offer, `[x_1, …, x_d, h]` with stride `dimensions + 1` (zeros when unlocated).
    private(set) var components: [Double]
    private(set) var isLocated: [Bool]
    /// Per offer, the fields the hard constraints read most, packed for a fast first check.
    private(set) var traits: [OfferTraits]
    /// Per runtime, one grid per busy state (busy, idle, unknown): within one, a stranger's
    /// cost grows with latency alone, so k nearest is k best.
    private(set) var grids: [String: [RuntimeGrid]] = [:]

    /// The grid of a busy state.
    static func busyClass(_ busy: Bool?) -> Int { busy.map { $0 ? 0 : 1 } ?? 2 }

    init(offers: [Offer], lenderIsBusy: (Int) -> Bool?) {
        var counts: [Int: Int] = [:]
        let parsed = offers.map { $0.coordinates.flatMap(VivaldiCoordinate.init(components:)) }
        for coordinate in parsed { if let coordinate { counts[coordinate.dimensions, default: 0] += 1 } }
        dimensions = counts.max { ($0.value, -$0.key) < ($1.value, -$1.key) }?.key ?? 2
        let stride = dimensions + 1
        components = Array(repeating: 0, count: offers.count * stride)
        isLocated = Array(repeating: false, count: offers.count)
        for (index, coordinate) in parsed.enumerated() {
            guard let coordinate, coordinate.dimensions == dimensions else { continue }
            isLocated[index] = true
            for (k, value) in coordinate.components.enumerated() { components[index * stride + k] = value }
        }
        traits = offers.map(OfferTraits.init)
        var byRuntime: [String: [[Int32]]] = [:]
        for (index, offer) in offers.enumerated() {
            if traits[index].ownerPresent { continue }  // ruled out for everyone (notIdle)
            let busy = lenderIsBusy(index)
            for runtime in offer.runtimes {
                byRuntime[runtime, default: [[], [], []]][Self.busyClass(busy)].append(Int32(index))
            }
        }
        for (runtime, classes) in byRuntime {
            grids[runtime] = classes.map { RuntimeGrid(members: $0, index: self) }
        }
    }

    /// x and y of a located offer (y = 0 in one dimension).
    func planePoint(_ offer: Int) -> (x: Double, y: Double) {
        let base = offer * (dimensions + 1)
        return (components[base], dimensions > 1 ? components[base + 1] : 0)
    }

    /// The height of a located offer.
    func height(_ offer: Int) -> Double { components[offer * (dimensions + 1) + dimensions] }

    /// The Vivaldi estimate from `coordinate` to a located offer, computed exactly as
    /// ``VivaldiCoordinate/distance(to:)`` does (same operations, same order, same bits).
    func estimatedLatency(from coordinate: VivaldiCoordinate, to offer: Int) -> Double {
        let base = offer * (dimensions + 1)
        var sum = 0.0
        for k in 0..<dimensions {
            let d = coordinate.vector[k] - components[base + k]
            sum += d * d
        }
        return sum.squareRoot() + (coordinate.height + components[base + dimensions])
    }
}

/// The offers of one runtime: every member, the unlocated ones, and a grid of the located ones.
struct RuntimeGrid {
    let members: [Int32]
    private(set) var unlocated: [Int32] = []
    private(set) var cellStart: [Int32] = []
    private(set) var cellOffers: [Int32] = []
    private(set) var minX = 0.0, minY = 0.0, cellSize = 1.0
    private(set) var side = 1

    /// Offers per cell the grid aims at.
    static let offersPerCell = 4.0

    init(members: [Int32], index: OfferIndex) {
        self.members = members
        var located: [Int32] = []
        var maxX = -Double.infinity, maxY = -Double.infinity
        minX = .infinity
        minY = .infinity
        for offer in members {
            guard index.isLocated[Int(offer)] else { unlocated.append(offer); continue }
            located.append(offer)
            let p = index.planePoint(Int(offer))
            minX = min(minX, p.x); maxX = max(maxX, p.x); minY = min(minY, p.y); maxY = max(maxY, p.y)
        }
        guard !located.isEmpty else { minX = 0; minY = 0; cellStart = [0, 0]; return }
        side = max(1, Int((Double(located.count) / Self.offersPerCell).squareRoot()))
        cellSize = max(maxX - minX, maxY - minY, 1e-9) / Double(side) * (1 + 1e-12)
        var cellOf = [Int32](repeating: 0, count: located.count)
        var counts = [Int32](repeating: 0, count: side * side + 1)
        for (i, offer) in located.enumerated() {
            let p = index.planePoint(Int(offer))
            let cell = self.cell(x: p.x, y: p.y)
            cellOf[i] = Int32(cell.row * side + cell.column)
            counts[Int(cellOf[i]) + 1] += 1
        }
        for c in 0..<side * side { counts[c + 1] += counts[c] }
        cellStart = counts
        var next = counts
        cellOffers = [Int32](repeating: 0, count: located.count)
        for (i, offer) in located.enumerated() {
            cellOffers[Int(next[Int(cellOf[i])])] = offer
            next[Int(cellOf[i])] += 1
        }
        // Within a cell, lowest height first: a scan stops at the first offer too high to beat.
        let stride = index.dimensions + 1
        func height(_ offer: Int32) -> Double { index.components[Int(offer) * stride + index.dimensions] }
        for cell in 0..<side * side {
            cellOffers[Int(cellStart[cell])..<Int(cellStart[cell + 1])].sort { (height($0), $0) < (height($1), $1) }
        }
        minHeight = located.map(height).min() ?? 0
    }

    /// The least height of a located offer (a lower bound on the height term of any estimate).
    private(set) var minHeight = 0.0

    /// The plane distance from (x, y) to the cell at (column, row) (0 inside it).
    func distance(x: Double, y: Double, column: Int, row: Int) -> Double {
        let left = minX + Double(column) * cellSize, bottom = minY + Double(row) * cellSize
        let dx = max(left - x, 0, x - (left + cellSize)), dy = max(bottom - y, 0, y - (bottom + cellSize))
        return (dx * dx + dy * dy).squareRoot()
    }

    /// The cell holding a point, clamped to the grid.
    func cell(x: Double, y: Double) -> (column: Int, row: Int) {
        func clamp(_ v: Double) -> Int {
            guard v.isFinite else { return 0 }
            return min(max(Int(v.rounded(.down)), 0), side - 1)
        }
        return (clamp((x - minX) / cellSize), clamp((y - minY) / cellSize))
    }

    /// The offers of the cell at (column, row).
    func offers(column: Int, row: Int) -> ArraySlice<Int32> {
        let cell = row * side + column
        return cellOffers[Int(cellStart[cell])..<Int(cellStart[cell + 1])]
    }

    /// A lower bound on the plane distance from (x, y), in cell (cx, cy), to any cell of ring
    /// `ring` (cells at Chebyshev distance `ring`) or beyond; `nil` when no such cell exists.
    func ringLowerBound(x: Double, y: Double, column cx: Int, row cy: Int, ring: Int) -> Double? {
        var bound = Double.infinity
        if cx + ring < side { bound = min(bound, minX + Double(cx + ring) * cellSize - x) }
        if cx - ring >= 0 { bound = min(bound, x - (minX + Double(cx - ring + 1) * cellSize)) }
        if cy + ring < side { bound = min(bound, minY + Double(cy + ring) * cellSize - y) }
        if cy - ring >= 0 { bound = min(bound, y - (minY + Double(cy - ring + 1) * cellSize)) }
        return bound == .infinity ? nil : max(0, bound)
    }
}

/// The scalar fields of an offer that most constraints read, so the index can reject most
/// infeasible offers without touching the offer's arrays.
struct OfferTraits {
    let cores: Int
    let memoryBytes: Int64
    let expiry: Int64
    /// An idle-only offer that says its owner is at the machine (`notIdle`).
    let ownerPresent: Bool
    /// Whether the offer has windows or allow/deny lists (checked on the full offer).
    let needsFullCheck: Bool

    init(_ offer: Offer) {
        cores = offer.cores
        memoryBytes = offer.memoryBytes
        expiry = offer.expiry
        ownerPresent = offer.idleOnly && offer.busySince != nil
        needsFullCheck = !offer.windows.isEmpty || !offer.policy.allowed.isEmpty || !offer.policy.denied.isEmpty
    }
}
