// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// What a run counts (`spec/0010-simulator.md` §6). Lookup, put and get figures cover only the
/// operations the workload started inside the measurement window.
public struct Metrics: Sendable {
    // Datagrams (whole run).
    public var datagramsSent = 0
    public var bytesSent = 0
    public var datagramsDelivered = 0
    public var datagramsLost = 0
    public var datagramsToOfflineHosts = 0
    public var datagramsBlockedByNAT = 0
    public var datagramsUnaddressable = 0
    /// Datagrams sent inside the measurement window.
    public var datagramsSentMeasured = 0
    /// Queries sent by the nodes that have left, by cause (``DHTNode/Counters/queriesSentByCause``).
    public var queriesSentByCause: [String: Int] = [:]
    /// Refresh lookups the nodes that have left started after joining, and periodically.
    public var joinRefreshes = 0
    public var periodicRefreshes = 0
    /// The integral of the number of online hosts over the measurement window (host-seconds).
    public var onlineHostSeconds = 0.0

    // Membership.
    public var joins = 0
    public var leaves = 0
    public var bootstrapRetries = 0
    public var itemsStored = 0

    // Lookups.
    public var lookupsStarted = 0
    public var lookupsCompleted = 0
    public var lookupsFailed = 0
    public var lookupsExact = 0
    public var lookupRecallSum = 0.0
    public var hops: [Int] = []
    public var queried: [Int] = []
    public var latenciesMilliseconds: [Double] = []
    /// Lookup queries that went unanswered past the short timeout, and those resent (sums).
    public var slowQueries = 0
    public var resentQueries = 0
    /// Latencies of the lookups that met no slow query, and of those that met one or more:
    /// what timeouts cost against what hops and round trips cost (issue 19's breakdown).
    public var latenciesWithoutSlowMilliseconds: [Double] = []
    public var latenciesWithSlowMilliseconds: [Double] = []
    /// Per age of ``newcomerAges``: inexact lookups whose every missed host joined at most
    /// that long before the lookup started (or during it): hosts no one may know yet.
    public var missedOnlyNewcomers = Array(repeating: 0, count: newcomerAges.count)
    /// The ages of ``missedOnlyNewcomers``, in nanoseconds: joined during the lookup, within
    /// 5 s before it, within 30 s.
    public static let newcomerAges: [UInt64] = [0, 5_000_000_000, 30_000_000_000]
    /// The live hosts inexact lookups missed: those the lookup asked that had not answered in
    /// time (``LookupResult/unanswered``), and the others, never asked (unknown to every peer
    /// asked, or known and not reached).
    public var missedAsked = 0, missedNotAsked = 0

    // Items.
    public var putsStarted = 0
    public var putsStored = 0
    public var getsStarted = 0
    public var getsCompleted = 0
    public var getsFound = 0
    /// Gets that found the item: milliseconds until the first reply carrying it, and until the
    /// get's lookup ended (issue 19's two definitions of lookup latency).
    public var getFirstValueMilliseconds: [Double] = []
    public var getFoundMilliseconds: [Double] = []

    /// Lookups, puts and gets lost because their host went offline before they completed.
    public var abandoned = 0
    /// Workload operations skipped because no host was online and bootstrapped.
    public var skipped = 0

    public init() {}
}

/// One row of the time series, over the sample interval that ends at `time`.
public struct Sample: Sendable, Hashable {
    public var time: Double
    public var online: Int
    public var lookups = 0
    public var exact = 0
    public var hopsSum = 0
    public var latencySumMilliseconds = 0.0
    public var datagrams = 0
    public var onlineHostSeconds = 0.0
    public var gets = 0
    public var found = 0

    public init(time: Double, online: Int) {
        self.time = time
        self.online = online
    }

    public var successRate: Double { lookups == 0 ? 0 : Double(exact) / Double(lookups) }
    public var hopsMean: Double { lookups == 0 ? 0 : Double(hopsSum) / Double(lookups) }
    public var latencyMeanMilliseconds: Double { lookups == 0 ? 0 : latencySumMilliseconds / Double(lookups) }
    public var messagesPerNodePerSecond: Double { onlineHostSeconds == 0 ? 0 : Double(datagrams) / onlineHostSeconds }
    public var foundRate: Double { gets == 0 ? 0 : Double(found) / Double(gets) }

    static let csvHeader = "time_s,online,lookups,lookup_success_rate,hops_mean,latency_ms_mean,messages_per_node_per_second,gets,items_found_rate"

    var csvRow: String {
        [format(time, 1), "\(online)", "\(lookups)", format(successRate, 4), format(hopsMean, 3),
         format(latencyMeanMilliseconds, 1), format(messagesPerNodePerSecond, 3), "\(gets)", format(foundRate, 4)]
            .joined(separator: ",")
    }
}

/// The nearest-rank percentile (`p` in 0…100) of a sorted array; 0 when empty.
func percentile<T: BinaryInteger>(_ sorted: [T], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let rank = max(1, Int((p / 100 * Double(sorted.count)).rounded(.up)))
    return Double(sorted[min(sorted.count, rank) - 1])
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let rank = max(1, Int((p / 100 * Double(sorted.count)).rounded(.up)))
    return sorted[min(sorted.count, rank) - 1]
}

/// `value` with `digits` decimals, without Foundation's locale-dependent formatting.
func format(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return "0" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    let whole = Int(scaled / scale)
    let fraction = Int(scaled.truncatingRemainder(dividingBy: scale))
    let sign = value < 0 && scaled != 0 ? "-" : ""
    guard digits > 0 else { return sign + "\(whole)" }
    let fractionText = String(fraction)
    return sign + "\(whole)." + String(repeating: "0", count: digits - fractionText.count) + fractionText
}
