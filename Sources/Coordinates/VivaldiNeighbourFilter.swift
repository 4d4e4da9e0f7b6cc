// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// A per-neighbour RTT filter: the median of the last few samples of each neighbour, applied
/// before the Vivaldi update (Ledlie, Gardner & Seltzer, "Network Coordinates in the Wild",
/// NSDI 2007, §5.1 "Latency filter": a moving percentile over a short history per link).
///
/// State is bounded: at most ``capacity`` neighbours, each with at most ``window`` samples; when
/// the table is full the least recently sampled neighbour is forgotten (LRU). Each neighbour also
/// keeps a count of consecutive misfits, for the misfit rule of ``VivaldiNode`` (one byte).
///
/// **Deviations.** The paper's moving-percentile filter keeps the 25th percentile of four samples
/// (its latency spikes are one-sided); the median is used here (`spec/0013-coordinates.md` §3.1),
/// since it is robust to spikes either way. A neighbour is named by the hash of a key the caller
/// chooses (a node id): two keys whose hashes collide share one history, which only blurs the
/// filter of those two.
public struct VivaldiNeighbourFilter: Sendable {
    /// Samples kept per neighbour (1 disables the filter).
    public let window: Int
    /// Neighbours tracked.
    public let capacity: Int

    private struct Entry: Sendable {
        var key: Int
        var samples: [Double]
        var next: Int
        var lastUse: UInt64
        /// Consecutive misfits (see ``recordMisfit(_:neighbour:)``), saturating at 255.
        var strikes: UInt8 = 0
    }

    private var entries: [Entry] = []
    private var clock: UInt64 = 0

    public init(window: Int, capacity: Int) {
        precondition(window >= 1 && capacity >= 1, "a window and a capacity of at least one")
        self.window = window
        self.capacity = capacity
    }

    /// The number of neighbours tracked now.
    public var count: Int { entries.count }

    /// Records `rtt` for the neighbour `key` and returns the median of its last ``window`` samples
    /// (the mean of the two middle ones when their count is even).
    public mutating func filter(rtt: Double, neighbour key: Int) -> Double {
        clock &+= 1
        let index: Int
        if let found = entries.firstIndex(where: { $0.key == key }) {
            index = found
            if entries[index].samples.count < window {
                entries[index].samples.append(rtt)
            } else {
                entries[index].samples[entries[index].next] = rtt
                entries[index].next = (entries[index].next + 1) % window
            }
            entries[index].lastUse = clock
        } else {
            let entry = Entry(key: key, samples: [rtt], next: 0, lastUse: clock)
            if entries.count < capacity {
                entries.append(entry)
                index = entries.count - 1
            } else {
                index = entries.indices.min { entries[$0].lastUse < entries[$1].lastUse }!
                entries[index] = entry
            }
        }
        return window > 1 ? Self.median(entries[index].samples) : rtt
    }

    /// Records whether the neighbour's latest sample misfit the prediction and returns its count
    /// of consecutive misfits (a fit resets it to 0; it saturates at 255). 0 for an untracked
    /// neighbour (`spec/0013-coordinates.md` §3.3).
    public mutating func recordMisfit(_ misfit: Bool, neighbour key: Int) -> Int {
        guard let index = entries.firstIndex(where: { $0.key == key }) else { return 0 }
        let strikes = entries[index].strikes
        entries[index].strikes = misfit ? (strikes == .max ? strikes : strikes + 1) : 0
        return Int(entries[index].strikes)
    }

    static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        let m = s.count / 2
        return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
    }
}
