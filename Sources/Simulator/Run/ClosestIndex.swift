// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Kademlia

/// Every host's id, sorted, to find the true k closest eligible hosts to a target by XOR
/// without scanning all hosts.
///
/// The hosts sharing the first p bits with the target form one contiguous run of the sorted
/// ids, and each of them is closer to the target (XOR) than any host outside it. So the k
/// closest lie in the longest such prefix run that holds at least k eligible hosts; only that
/// run (about 2k hosts on average) is sorted by distance.
public struct ClosestIndex: Sendable {
    private let ids: [NodeID]
    private let hosts: [UInt32]

    /// Indexes `ids` (host i has id `ids[i]`).
    public init(ids: [NodeID]) {
        let order = ids.indices.sorted { ids[$0] < ids[$1] }
        self.ids = order.map { ids[$0] }
        hosts = order.map { UInt32($0) }
    }

    /// The first position whose id is not below `id`.
    private func lowerBound(_ id: NodeID) -> Int {
        var low = 0, high = ids.count
        while low < high {
            let mid = (low + high) / 2
            if ids[mid] < id { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// The first position whose id is above `id`.
    private func upperBound(_ id: NodeID) -> Int {
        var low = 0, high = ids.count
        while low < high {
            let mid = (low + high) / 2
            if id < ids[mid] { high = mid } else { low = mid + 1 }
        }
        return low
    }

    /// The (up to) `k` eligible hosts closest to `target`, closest first.
    public func closest(to target: NodeID, count k: Int, where eligible: (Int) -> Bool) -> [Int] {
        guard k > 0, !ids.isEmpty else { return [] }
        // A run of the first p bits holds about count / 2^p hosts: start where that is about 2k
        // (any shorter prefix gives the same answer, from a longer run).
        let perRun = max(1, ids.count / (2 * k))
        var prefix = min(NodeID.bitCount, perRun.bitWidth - perRun.leadingZeroBitCount - 1)
        while true {
            let mask = NodeID.mask(leadingBits: prefix)
            let low = NodeID(high: target.high & mask.high, middle: target.middle & mask.middle, low: target.low & mask.low)
            let high = NodeID(high: low.high | ~mask.high, middle: low.middle | ~mask.middle, low: low.low | ~mask.low)
            let range = lowerBound(low)..<upperBound(high)
            var found: [Int] = []
            found.reserveCapacity(range.count)
            for position in range where eligible(Int(hosts[position])) { found.append(position) }
            if found.count >= k || prefix == 0 {
                found.sort { (ids[$0] ^ target) < (ids[$1] ^ target) }
                return found.prefix(k).map { Int(hosts[$0]) }
            }
            prefix -= 1
        }
    }
}
