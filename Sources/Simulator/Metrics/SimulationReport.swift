// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Foundation
import Kademlia

/// The figures of one run (`spec/0010-simulator.md` §6), with the scenario's expectations
/// checked. Encodes to JSON with the snake_case names used by `[expected]` tables.
public struct SimulationReport: Sendable, Codable {
    public var scenario: String
    public var seed: UInt64
    public var traceHash: String
    public var nodes: Int
    public var simulatedSeconds: Double
    public var events: UInt64
    public var peakPendingEvents: Int
    public var datagramsDelivered: Int

    public var lookupsStarted: Int
    public var lookupsCompleted: Int
    public var lookupsFailed: Int
    public var lookupSuccessRate: Double
    public var lookupRecall: Double
    public var hopsP50: Double
    public var hopsP90: Double
    public var hopsMax: Double
    public var hopsHistogram: [Int]
    public var queriesPerLookupMean: Double
    /// Where a lookup's time goes: its queries unanswered past the short timeout, and those
    /// resent (means per lookup).
    public var slowQueriesPerLookupMean: Double
    public var resentQueriesPerLookupMean: Double
    public var latencyMsP50: Double
    public var latencyMsP90: Double
    public var latencyMsP99: Double
    /// The share of lookups that met no slow query, and the median latency of those and of
    /// the others: the floor that hops and round trips set, and what timeouts add.
    public var lookupsWithoutSlowRate: Double
    public var latencyMsP50WithoutSlow: Double
    public var latencyMsP50WithSlow: Double
    /// The shares of lookups that were inexact only for hosts that joined during the lookup,
    /// within 5 s before it, within 30 s (``Metrics/newcomerAges``): how near the exact rate
    /// could come if no one had to be known at once.
    public var missedOnlyNewcomersRates: [Double] = []
    /// The live hosts inexact lookups missed, and the share of them the lookup had asked
    /// (unanswered in time) rather than never asked.
    public var missedHosts = 0
    public var missedAskedShare = 0.0

    public var messagesPerNodePerSecond: Double
    public var datagramsSent: Int
    public var datagramsLost: Int
    public var datagramsToOfflineHosts: Int
    public var datagramsBlockedByNat: Int
    public var onlineMean: Double
    public var joins: Int
    public var leaves: Int
    public var bootstrapRetries: Int

    public var putsStarted: Int
    public var putsStoredRate: Double
    public var getsStarted: Int
    public var itemsFoundRate: Double
    /// Gets that found the item: until the first reply carrying it, and until the lookup ended.
    public var getFirstValueMsP50: Double
    public var getFirstValueMsP99: Double
    public var getFoundMsP50: Double
    public var getFoundMsP99: Double
    /// The DHT node settings the run used (the node's defaults unless the scenario overrides).
    public var dhtSettings: String
    public var abandoned: Int
    /// What an online node holds at the end, on average (``DHTNode/Footprint``): where the
    /// bytes per node go.
    public var heldPerNode = ""
    /// Queries every node sent in the whole run, by cause (``DHTNode/Counters/queriesSentByCause``),
    /// and the refresh lookups they started after joining and periodically.
    public var queriesSentByCause: [String: Int] = [:]
    public var joinRefreshes = 0
    public var periodicRefreshes = 0

    /// Filled by the driver (the simulator itself never reads a clock or the memory use).
    public var wallSeconds: Double?
    public var eventsPerSecond: Double?
    public var peakMemoryBytes: Int?
    public var bytesPerNode: Double?

    public var expectations: [CheckedExpectation]
    /// Whether every expectation that applies at this size holds.
    public var passed: Bool { expectations.allSatisfy { $0.ok || !$0.checked } }

    public struct CheckedExpectation: Sendable, Codable, Hashable {
        public var metric: String
        public var value: Double
        public var min: Double?
        public var max: Double?
        public var ok: Bool
        /// The size the bounds hold for, and whether they were checked (this run's size);
        /// unchecked, they are shown for comparison only.
        public var forNodes: Int?
        public var checked: Bool

        init(metric: String, value: Double, min: Double?, max: Double?, ok: Bool, forNodes: Int?, checked: Bool) {
            self.metric = metric
            self.value = value
            self.min = min
            self.max = max
            self.ok = ok
            self.forNodes = forNodes
            self.checked = checked
        }

        /// `expectation` against `value`, in a run of `scenario`.
        init(_ expectation: Scenario.Expectation, value: Double, scenario: Scenario) {
            self.init(metric: expectation.metric, value: value, min: expectation.min, max: expectation.max,
                      ok: expectation.holds(for: value), forNodes: scenario.expectedNodes, checked: scenario.expectationsApply)
        }

        /// One table row: the value, the bounds, and whether they held (or, at another size than
        /// theirs, that they are shown for comparison).
        var row: (String, String) {
            let bounds = Scenario.Expectation(metric: metric, min: min, max: max).bounds
            let verdict = checked ? (ok ? "ok" : "FAILED")
                : "for \(forNodes.map(String.init) ?? "another size") nodes, not checked at this size (\(ok ? "within" : "outside"))"
            return ("expect \(metric)", "\(format(value, 3)) in \(bounds): \(verdict)")
        }
    }

    /// The value of a metric by its JSON name (those of ``Scenario/expectableMetrics``).
    public func value(of metric: String) -> Double? {
        switch metric {
        case "lookup_success_rate": lookupSuccessRate
        case "lookup_recall": lookupRecall
        case "hops_p50": hopsP50
        case "hops_p90": hopsP90
        case "latency_ms_p50": latencyMsP50
        case "latency_ms_p90": latencyMsP90
        case "latency_ms_p99": latencyMsP99
        case "messages_per_node_per_second": messagesPerNodePerSecond
        case "items_found_rate": itemsFoundRate
        case "get_first_value_ms_p50": getFirstValueMsP50
        case "get_first_value_ms_p99": getFirstValueMsP99
        case "puts_stored_rate": putsStoredRate
        case "lookups_completed": Double(lookupsCompleted)
        case "online_mean": onlineMean
        default: nil
        }
    }

    /// Checks the scenario's expectations against the figures.
    public mutating func check(_ scenario: Scenario) {
        expectations = scenario.expected.map { CheckedExpectation($0, value: self.value(of: $0.metric) ?? .nan, scenario: scenario) }
    }

    /// JSON, keys sorted, snake_case.
    public func json() throws -> String { try ReportJSON.encode(self, passed: passed) }

    /// Each cause's share of the queries sent, largest first, and the refresh lookups.
    var causes: String {
        let total = max(1, queriesSentByCause.values.reduce(0, +))
        return queriesSentByCause.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
            .map { "\($0.key) \(format(Double($0.value) * 100 / Double(total), 1)) %" }.joined(separator: ", ")
            + " of \(total); refresh lookups: \(joinRefreshes) after joining, \(periodicRefreshes) periodic"
    }

    /// A summary table for people.
    public var table: String {
        var rows: [(String, String)] = [
            ("scenario", scenario), ("seed", "\(seed)"), ("trace hash", traceHash), ("nodes", "\(nodes)"),
            ("simulated time", "\(format(simulatedSeconds, 1)) s"), ("events", "\(events)"),
            ("online (mean)", format(onlineMean, 1)),
            ("joins / leaves", "\(joins) / \(leaves)"),
            ("lookups completed", "\(lookupsCompleted) of \(lookupsStarted) (\(lookupsFailed) failed, \(abandoned) abandoned)"),
            ("lookup success", "\(format(lookupSuccessRate * 100, 2)) % exact, recall \(format(lookupRecall * 100, 2)) %"),
            ("hops p50 / p90 / max", "\(format(hopsP50, 0)) / \(format(hopsP90, 0)) / \(format(hopsMax, 0))"),
            ("queries per lookup", "\(format(queriesPerLookupMean, 2)) (\(format(slowQueriesPerLookupMean, 2)) slow, \(format(resentQueriesPerLookupMean, 2)) resent)"),
            ("latency ms p50 / p90 / p99", "\(format(latencyMsP50, 1)) / \(format(latencyMsP90, 1)) / \(format(latencyMsP99, 1))"),
            ("latency ms p50: no slow query / some", "\(format(latencyMsP50WithoutSlow, 1)) (\(format(lookupsWithoutSlowRate * 100, 1)) % of lookups) / "
                + format(latencyMsP50WithSlow, 1)),
            ("inexact, missing only newcomers", zip(["joined during the lookup", "within 5 s before", "within 30 s"], missedOnlyNewcomersRates)
                .map { "\($0) \(format($1 * 100, 2)) %" }.joined(separator: ", ") + " of lookups"),
            ("hosts missed", "\(missedHosts): \(format(missedAskedShare * 100, 1)) % asked, not answered in time; "
                + "\(format((1 - missedAskedShare) * 100, 1)) % never asked"),
            ("messages / node / s", format(messagesPerNodePerSecond, 3)),
            ("datagrams sent / lost", "\(datagramsSent) / \(datagramsLost)"),
            ("to offline / NAT-blocked", "\(datagramsToOfflineHosts) / \(datagramsBlockedByNat)"),
            ("puts stored", "\(format(putsStoredRate * 100, 2)) % of \(putsStarted)"),
            ("items found by gets", "\(format(itemsFoundRate * 100, 2)) % of \(getsStarted)"),
            ("get ms p50 / p99: first value", "\(format(getFirstValueMsP50, 1)) / \(format(getFirstValueMsP99, 1))"),
            ("get ms p50 / p99: lookup end", "\(format(getFoundMsP50, 1)) / \(format(getFoundMsP99, 1))"),
            ("dht settings", dhtSettings),
            ("held per online node", heldPerNode),
            ("queries sent, by cause", causes),
        ]
        if let wallSeconds { rows.append(("wall time", "\(format(wallSeconds, 2)) s")) }
        if let eventsPerSecond { rows.append(("events / s (wall)", format(eventsPerSecond, 0))) }
        if let peakMemoryBytes { rows.append(("peak memory", "\(peakMemoryBytes / (1 << 20)) MiB")) }
        if let bytesPerNode { rows.append(("bytes per node", format(bytesPerNode, 0))) }
        rows += expectations.map(\.row)
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
    }
}

extension Simulation {
    /// The report of the run so far.
    public func report() -> SimulationReport {
        let latencies = metrics.latenciesMilliseconds.sorted()
        let firstValues = metrics.getFirstValueMilliseconds.sorted(), getsFound = metrics.getFoundMilliseconds.sorted()
        let lookups = metrics.queried.count
        let perLookup = { (sum: Int) in lookups == 0 ? 0 : Double(sum) / Double(lookups) }
        let hops = metrics.hops.sorted()
        var histogram = Array(repeating: 0, count: (hops.last ?? 0) + 1)
        for value in hops { histogram[value] += 1 }
        let completed = metrics.lookupsCompleted
        let abandoned = requests.values.filter { if case .bootstrap = $0.kind { false } else { true } }.count
        var report = SimulationReport(
            scenario: scenario.name, seed: scenario.seed, traceHash: trace.description, nodes: scenario.platform.nodes,
            simulatedSeconds: Double(now) / 1e9, events: eventsProcessed, peakPendingEvents: peakPendingEvents,
            datagramsDelivered: metrics.datagramsDelivered,
            lookupsStarted: metrics.lookupsStarted, lookupsCompleted: completed, lookupsFailed: metrics.lookupsFailed,
            lookupSuccessRate: completed == 0 ? 0 : Double(metrics.lookupsExact) / Double(completed),
            lookupRecall: completed == 0 ? 0 : metrics.lookupRecallSum / Double(completed),
            hopsP50: percentile(hops, 50), hopsP90: percentile(hops, 90), hopsMax: Double(hops.last ?? 0),
            hopsHistogram: histogram,
            queriesPerLookupMean: perLookup(metrics.queried.reduce(0, +)),
            slowQueriesPerLookupMean: perLookup(metrics.slowQueries), resentQueriesPerLookupMean: perLookup(metrics.resentQueries),
            latencyMsP50: percentile(latencies, 50), latencyMsP90: percentile(latencies, 90), latencyMsP99: percentile(latencies, 99),
            lookupsWithoutSlowRate: latencies.isEmpty ? 0 : Double(metrics.latenciesWithoutSlowMilliseconds.count) / Double(latencies.count),
            latencyMsP50WithoutSlow: percentile(metrics.latenciesWithoutSlowMilliseconds.sorted(), 50),
            latencyMsP50WithSlow: percentile(metrics.latenciesWithSlowMilliseconds.sorted(), 50),
            messagesPerNodePerSecond: metrics.onlineHostSeconds == 0 ? 0 : Double(metrics.datagramsSentMeasured) / metrics.onlineHostSeconds,
            datagramsSent: metrics.datagramsSent, datagramsLost: metrics.datagramsLost,
            datagramsToOfflineHosts: metrics.datagramsToOfflineHosts, datagramsBlockedByNat: metrics.datagramsBlockedByNAT,
            onlineMean: metrics.onlineHostSeconds / max(scenario.deployment.duration, 1e-9),
            joins: metrics.joins, leaves: metrics.leaves, bootstrapRetries: metrics.bootstrapRetries,
            putsStarted: metrics.putsStarted,
            putsStoredRate: metrics.putsStarted == 0 ? 0 : Double(metrics.putsStored) / Double(metrics.putsStarted),
            getsStarted: metrics.getsStarted,
            itemsFoundRate: metrics.getsStarted == 0 ? 0 : Double(metrics.getsFound) / Double(metrics.getsStarted),
            getFirstValueMsP50: percentile(firstValues, 50), getFirstValueMsP99: percentile(firstValues, 99),
            getFoundMsP50: percentile(getsFound, 50), getFoundMsP99: percentile(getsFound, 99),
            dhtSettings: Self.describe(nodeConfiguration, rejoinsFromSavedTable: scenario.deployment.rejoinsFromSavedTable),
            abandoned: abandoned, expectations: [])
        report.heldPerNode = heldPerOnlineNode
        report.missedOnlyNewcomersRates = metrics.missedOnlyNewcomers.map { completed == 0 ? 0 : Double($0) / Double(completed) }
        report.missedHosts = metrics.missedAsked + metrics.missedNotAsked
        report.missedAskedShare = report.missedHosts == 0 ? 0 : Double(metrics.missedAsked) / Double(report.missedHosts)
        (report.queriesSentByCause, report.joinRefreshes, report.periodicRefreshes) = queryCauses
        report.check(scenario)
        return report
    }

    /// The mean ``DHTNode/Footprint`` of the online nodes, in words.
    var heldPerOnlineNode: String {
        let total = onlineList.reduce(DHTNode.Footprint()) { $0 + nodes[Int($1)].footprint }
        let mean = { (count: Int) in format(Double(count) / Double(max(self.onlineList.count, 1)), 1) }
        return "\(mean(total.routingEntries)) contacts in \(mean(total.buckets)) buckets, "
            + "\(mean(total.replacementEntries)) waiting, \(mean(total.rateLimiterKeys)) rate-limiter keys, "
            + "\(mean(total.rememberedEndpoints)) remembered endpoints, \(mean(total.items + total.infoHashes)) items, "
            + "\(mean(total.pendingQueries)) pending queries"
    }

    /// The queries sent in the whole run by every node, gone or online, by cause, and the
    /// refresh lookups started after joining and periodically.
    var queryCauses: (byCause: [String: Int], joinRefreshes: Int, periodicRefreshes: Int) {
        onlineList.reduce((metrics.queriesSentByCause, metrics.joinRefreshes, metrics.periodicRefreshes)) { sum, host in
            let counters = nodes[Int(host)].counters
            return (sum.0.merging(counters.queriesSentByCause, uniquingKeysWith: +), sum.1 + counters.joinRefreshes,
                    sum.2 + counters.periodicRefreshes)
        }
    }

    /// The time series as CSV (one row per sample interval).
    public var seriesCSV: String {
        ([Sample.csvHeader] + series.map(\.csvRow)).joined(separator: "\n") + "\n"
    }

    /// Every measured lookup latency, sorted, in milliseconds (for a CDF).
    public var sortedLatencies: [Double] { metrics.latenciesMilliseconds.sorted() }
}
