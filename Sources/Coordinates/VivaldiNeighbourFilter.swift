// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// A per-neighbour RTT filter: the median of the last few samples of each neighbour, applied
/// before the Vivaldi update (Ledlie, Gardner & Seltzer, "Network Coordinates in the Wild",
/// NSDI 2007, §5.1 "Latency filter": a moving percentile over a short history per link).
///
/// State is bounded: at most ``capacity`` neighbours, each with at most ``window`` samples; when
/// the table is full the least recently sampled neighbour is forgotten (LRU).
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
        guard window > 1 else { return rtt }
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
        return Self.median(entries[index].samples)
    }

    static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        let m = s.count / 2
        return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
    }
}
