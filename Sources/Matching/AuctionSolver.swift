// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// Bertsekas' auction algorithm for the sparse assignment problem with **similar objects**
/// (D. P. Bertsekas, "The auction algorithm: a distributed relaxation method for the assignment
/// problem", Annals of Operations Research 14, 1988; D. P. Bertsekas & D. A. Castañon, "The
/// auction algorithm for the transportation problem", 1989), written for costs to minimise.
///
/// An offer of capacity C cores is C identical slots; a request using c cores takes c of them.
/// Each holder of an offer keeps the price per core it bid; a free core costs 0. A request's
/// value of an offer is `cost + c × entry price` (the price of the c cheapest cores, freeing the
/// lowest bidders). An unassigned request bids on its best offer, raising the price by the gap
/// to its second best (another offer, the next c cores of the same offer, or staying unserved at
/// `penalty`) plus ε, and evicts the lowest bidders if the offer overflows; evicted requests bid
/// again. Gauss–Seidel order, first-in first-out: deterministic.
///
/// When every request uses one core this is the slot-expanded asymmetric assignment problem;
/// started from zero prices, a forward auction ends ε-complementary-slack with every never-bid
/// slot at price 0, so the total is within Σ ε of the optimum of the sparse problem.
///
/// **Deviations.** No ε-scaling (it needs a reverse phase to stay correct on asymmetric
/// problems). Instead ε is adaptive per request: it doubles every 8 bids the request makes,
/// so price wars between near-equal offers stay short; the bound becomes Σ ε_r, reported as
/// ``optimalityBound``. Requests of
/// several cores make the problem a generalised assignment (NP-hard): the same rules apply, with
/// no optimality bound.
struct AuctionSolver {
    private(set) var arcs: [[Arc]]
    let cores: [Int]
    let capacity: [Int]
    let epsilon: Double
    let penalty: Double

    /// For each request, the offer that holds it, or -1 (unserved).
    private(set) var assigned: [Int32]
    private(set) var bids = 0
    /// Bids made by each request: its ε doubles every ``bidsPerDoubling`` bids (adaptive ε).
    private var bidsBy: [Int32]
    static let bidsPerDoubling: Int32 = 8
    static let maxDoublings: Int32 = 10
    private var holders: [[(request: Int32, bidPerCore: Double)]]
    private var used: [Int]
    private var queue: [Int32] = []
    private var queueHead = 0

    init(arcs: [[Arc]], cores: [Int], capacity: [Int], epsilon: Double, penalty: Double) {
        self.arcs = arcs
        self.cores = cores
        self.capacity = capacity
        self.epsilon = epsilon
        self.penalty = penalty
        assigned = Array(repeating: -1, count: arcs.count)
        bidsBy = Array(repeating: 0, count: arcs.count)
        holders = Array(repeating: [], count: capacity.count)
        used = Array(repeating: 0, count: capacity.count)
        queue = (0..<Int32(arcs.count)).map { $0 }
    }

    /// Adds arcs to an unserved request (the fallback) and queues it to bid again.
    mutating func extend(request r: Int, with more: [Arc]) {
        precondition(assigned[r] < 0, "only an unserved request falls back")
        arcs[r] = more
        queue.append(Int32(r))
    }

    /// The ε of request `r`: the base ε, doubled every ``bidsPerDoubling`` bids it has made (at
    /// most ``maxDoublings`` times), so that a price war between near-equal offers ends in a
    /// few dozen bids instead of (price gap) / ε.
    func epsilon(of r: Int) -> Double {
        epsilon * Double(1 << Int(min(bidsBy[r] / Self.bidsPerDoubling, Self.maxDoublings)))
    }

    /// Σ ε over the served requests: with one-core requests the total cost is within this much
    /// of the optimum of the sparse problem.
    var optimalityBound: Double {
        arcs.indices.reduce(0) { $0 + (assigned[$1] >= 0 ? epsilon(of: $1) : 0) }
    }

    /// Runs bids until no request is waiting.
    mutating func run() {
        while queueHead < queue.count {
            let r = Int(queue[queueHead])
            queueHead += 1
            bid(r)
        }
        queue.removeAll(keepingCapacity: true)
        queueHead = 0
    }

    /// The price per core of the `need` cheapest cores of `offer`: 0 while that many are free,
    /// else the highest bid among the holders that must be evicted; infinite if they never fit.
    func entryPrice(_ offer: Int, need: Int) -> Double {
        var free = capacity[offer] - used[offer]
        if free >= need { return 0 }
        if need > capacity[offer] { return .infinity }
        for holder in holders[offer].sorted(by: { $0.bidPerCore < $1.bidPerCore }) {
            free += cores[Int(holder.request)]
            if free >= need { return holder.bidPerCore }
        }
        return .infinity
    }

    private mutating func bid(_ r: Int) {
        let need = cores[r]
        var bestOffer = -1, bestValue = penalty, bestPrice = 0.0, secondValue = Double.infinity
        for arc in arcs[r] {
            let offer = Int(arc.offer)
            let price = entryPrice(offer, need: need)
            let value = arc.cost + Double(need) * price
            if value < bestValue {
                secondValue = min(secondValue, bestValue)
                bestOffer = offer; bestValue = value; bestPrice = price
                let next = arc.cost + Double(need) * entryPrice(offer, need: 2 * need)
                secondValue = min(secondValue, next)
            } else if value < secondValue {
                secondValue = value
            }
        }
        guard bestOffer >= 0 else { return }  // staying unserved is best
        secondValue = min(secondValue, penalty)
        bids += 1
        bidsBy[r] += 1
        let bidPerCore = bestPrice + (secondValue - bestValue + epsilon(of: r)) / Double(need)
        holders[bestOffer].append((Int32(r), bidPerCore))
        used[bestOffer] += need
        assigned[r] = Int32(bestOffer)
        while used[bestOffer] > capacity[bestOffer] {
            var lowest = 0
            for i in holders[bestOffer].indices where holders[bestOffer][i].bidPerCore < holders[bestOffer][lowest].bidPerCore {
                lowest = i
            }
            let evicted = Int(holders[bestOffer].remove(at: lowest).request)
            used[bestOffer] -= cores[evicted]
            assigned[evicted] = -1
            queue.append(Int32(evicted))
        }
    }
}
