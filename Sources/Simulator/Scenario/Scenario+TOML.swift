// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Kademlia
import Foundation
import SafeTOML
import TOMLKit

extension Scenario {
    /// The metrics an `[expected]` table may bound (the JSON names of ``SimulationReport``).
    public static let expectableMetrics: [String] = [
        "lookup_success_rate", "lookup_recall", "hops_p50", "hops_p90", "latency_ms_p50", "latency_ms_p90",
        "latency_ms_p99", "messages_per_node_per_second", "items_found_rate", "puts_stored_rate", "lookups_completed",
        "online_mean", "get_first_value_ms_p50", "get_first_value_ms_p99",
    ]

    /// Reads a scenario file; relative data paths are resolved against its directory.
    public init(contentsOf path: String) throws(ScenarioError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ScenarioError(key: "", "cannot read the scenario file \(path)")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw ScenarioError(key: "", "\(path) is not UTF-8") }
        try self.init(toml: text, directory: (path as NSString).deletingLastPathComponent)
    }

    /// Parses and validates a scenario (`spec/0010-simulator.md` §5).
    public init(toml text: String, directory: String = ".") throws(ScenarioError) {
        let root: TOMLTable
        do { root = try SafeTOML.parse(text) } catch { throw ScenarioError(key: "", "not valid TOML: \(error)") }
        var reader = TableReader(root, path: "")
        let name = try reader.string("name")
        let description = try reader.string("description", default: "")
        let seed = try reader.int("seed", in: 0...Int.max)
        let codec = try reader.bool("codec", default: true)
        guard var platformReader = try reader.table("platform") else { throw ScenarioError(key: "platform", "missing table") }
        let platform = try Self.readPlatform(&platformReader, directory: directory)
        guard var deploymentReader = try reader.table("deployment") else { throw ScenarioError(key: "deployment", "missing table") }
        let deployment = try Self.readDeployment(&deploymentReader)
        var lending: Lending?
        if var lendingReader = try reader.table("lending") { lending = try Self.readLending(&lendingReader) }
        var expected: [Expectation] = []
        var expectedNodes = platform.nodes
        if var expectedReader = try reader.table("expected") {
            if expectedReader.has("nodes") { expectedNodes = try expectedReader.int("nodes", in: 2...10_000_000) }
            expected = try Self.readExpected(&expectedReader, lending: lending != nil)
        }
        try reader.finish()
        self.init(name: name, description: description, seed: UInt64(seed), platform: platform, deployment: deployment,
                  expected: expected, codec: codec)
        self.lending = lending
        self.expectedNodes = expectedNodes
    }

    private static func readPlatform(_ reader: inout TableReader, directory: String) throws(ScenarioError) -> Platform {
        var platform = Platform(nodes: try reader.int("nodes", in: 2...10_000_000))
        platform.jitterMilliseconds = try reader.double("jitter_ms", default: 0, in: 0...60_000)
        platform.loss = try reader.double("loss", default: 0, in: 0...0.99)
        if var latency = try reader.table("latency") {
            let model = try latency.string("model", oneOf: ["constant", "geometric", "king"])
            switch model {
            case "constant":
                platform.latency = .constant(milliseconds: try latency.double("ms", in: 0...60_000))
            case "geometric":
                platform.latency = .geometric(baseMilliseconds: try latency.double("base_ms", default: 0, in: 0...60_000),
                                              scaleMilliseconds: try latency.double("scale_ms", in: 0...60_000))
            default:
                let file = try latency.string("file", default: "data/median_p2psim.syscoord")
                let path = file.hasPrefix("/") ? file : (directory as NSString).appendingPathComponent(file)
                platform.king = try KingCoordinates(contentsOf: path)
                platform.latency = .king(baseMilliseconds: try latency.double("base_ms", default: 0, in: 0...60_000),
                                         oneWayFraction: try latency.double("one_way_fraction", default: 0.5, in: 0.01...10))
            }
            try latency.finish()
        }
        if var churn = try reader.table("churn") {
            guard var session = try churn.table("session") else { throw ScenarioError(key: churn.key("session"), "missing table") }
            guard var downtime = try churn.table("downtime") else { throw ScenarioError(key: churn.key("downtime"), "missing table") }
            platform.churn = Churn(session: try readDistribution(&session), downtime: try readDistribution(&downtime))
            try churn.finish()
        }
        if var nat = try reader.table("nat") {
            platform.nat = NAT(fraction: try nat.double("fraction", default: 0, in: 0...0.99),
                               readOnly: try nat.bool("read_only", default: true))
            try nat.finish()
        }
        try reader.finish()
        return platform
    }

    static func readDistribution(_ reader: inout TableReader) throws(ScenarioError) -> Distribution {
        let kind = try reader.string("distribution", oneOf: ["fixed", "exponential", "weibull", "pareto"])
        let distribution: Distribution
        switch kind {
        case "fixed": distribution = .fixed(try reader.double("value_s", in: 0.001...1e9))
        case "exponential": distribution = .exponential(mean: try reader.double("mean_s", in: 0.001...1e9))
        case "weibull":
            distribution = .weibull(shape: try reader.double("shape", in: 0.05...20), scale: try reader.double("scale_s", in: 0.001...1e9))
        default:
            distribution = .pareto(shape: try reader.double("shape", in: 0.05...20), scale: try reader.double("scale_s", in: 0.001...1e9))
        }
        try reader.finish()
        return distribution
    }

    private static func readDeployment(_ reader: inout TableReader) throws(ScenarioError) -> Deployment {
        var deployment = Deployment()
        deployment.joinOver = try reader.double("join_over_s", default: 60, in: 0...1e7)
        deployment.warmup = try reader.double("warmup_s", default: 60, in: 0...1e7)
        deployment.duration = try reader.double("duration_s", in: 1...1e8)
        deployment.drain = try reader.double("drain_s", default: 30, in: 0...1e6)
        deployment.lookupsPerSecond = try reader.double("lookups_per_second", default: 1, in: 0...1e6)
        deployment.putsPerSecond = try reader.double("puts_per_second", default: 0, in: 0...1e6)
        deployment.getsPerSecond = try reader.double("gets_per_second", default: 0, in: 0...1e6)
        deployment.sampleInterval = try reader.double("sample_interval_s", default: 30, in: 0.1...1e7)
        deployment.bootstrapContacts = try reader.int("bootstrap_contacts", default: 1, in: 1...16)
        deployment.lookupInterval = try reader.double("lookup_interval_s", default: 0, in: 0...1e7)
        let target = try reader.string("lookup_target", default: "random", oneOf: ["random", "host-0"])
        deployment.lookupTarget = Deployment.LookupTarget(rawValue: target) ?? .random
        if var dht = try reader.table("dht") {
            deployment.alpha = try dht.int("alpha", default: Lookup.Configuration().alpha, in: 1...64)
            deployment.k = try dht.int("k", default: 8, in: 1...64)
            if dht.has("short_timeout_ms") { deployment.shortTimeout = .milliseconds(try dht.double("short_timeout_ms", in: 1...5000)) }
            if dht.has("adaptive_timeout_floor_ms") {
                deployment.adaptiveShortTimeoutFloor = .milliseconds(try dht.double("adaptive_timeout_floor_ms", in: 0...5000))
            }
            if dht.has("slow_holds_termination") { deployment.slowHoldsTermination = try dht.bool("slow_holds_termination", default: true) }
            if dht.has("resend_slow") { deployment.resendsToSlowPeers = try dht.bool("resend_slow", default: true) }
            if dht.has("converged_burst") { deployment.burstsWhenConverged = try dht.bool("converged_burst", default: true) }
            if dht.has("overtaken_free_slots") { deployment.overtakenFreeSlots = try dht.bool("overtaken_free_slots", default: true) }
            if dht.has("dial_back") { deployment.dialBack = try dht.bool("dial_back", default: true) }
            if dht.has("refresh_after_join") { deployment.refreshesAfterJoin = try dht.bool("refresh_after_join", default: true) }
            deployment.rejoinsFromSavedTable = try dht.bool("rejoin_from_saved_table", default: true)
            if dht.has("refresh_alpha") { deployment.refreshAlpha = try dht.int("refresh_alpha", default: DHTNode.Configuration().refreshQueriesInFlight, in: 1...64) }
            if dht.has("vivaldi_filter") { deployment.vivaldiFiltersContacts = try dht.bool("vivaldi_filter", default: true) }
            if dht.has("timeout_deviations") { deployment.timeoutDeviations = try dht.double("timeout_deviations", in: 0...16) }
            if dht.has("expected_rtt_factor") { deployment.expectedRoundTripFactor = try dht.double("expected_rtt_factor", in: 0...16) }
            if dht.has("expected_rtt_margin_ms") {
                deployment.expectedRoundTripMargin = .milliseconds(try dht.double("expected_rtt_margin_ms", in: 0...10_000))
            }
            if dht.has("liveness_check_s") {
                deployment.livenessCheckInterval = .milliseconds(try dht.double("liveness_check_s", in: 0...86_400) * 1000)
            }
            try dht.finish()
        }
        try reader.finish()
        return deployment
    }

    private static func readExpected(_ reader: inout TableReader, lending: Bool) throws(ScenarioError) -> [Expectation] {
        var expected: [Expectation] = []
        let expectableMetrics = lending ? lendingExpectableMetrics : expectableMetrics
        for metric in reader.keys where metric != "nodes" {
            guard expectableMetrics.contains(metric) else {
                throw ScenarioError(key: reader.key(metric),
                                    "unknown metric (one of \(expectableMetrics.joined(separator: ", ")))")
            }
            guard var bounds = try reader.table(metric) else { continue }
            let low = bounds.has("min") ? try bounds.double("min", in: -1e12...1e12) : nil
            let high = bounds.has("max") ? try bounds.double("max", in: -1e12...1e12) : nil
            guard low != nil || high != nil else { throw ScenarioError(key: bounds.key("min"), "give min, max or both") }
            if let low, let high, low > high { throw ScenarioError(key: bounds.key("min"), "is above max") }
            try bounds.finish()
            expected.append(Expectation(metric: metric, min: low, max: high))
        }
        try reader.finish()
        return expected
    }
}
