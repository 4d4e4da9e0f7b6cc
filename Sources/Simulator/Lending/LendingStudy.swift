// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Lending

/// A study (issue 18's scoreboard, `spec/0018-lending-simulation.md` §9): every line rule of
/// ``LineRule/Order`` on every lending scenario, over several seeds, reduced to the figures the
/// community cares about. Each (scenario, rule, seed) is one ordinary run, reproducible with
/// `potluck simulate SCENARIO --seed S` after setting `policy.order`.
public struct LendingStudy {
    /// The figures of one rule on one scenario: medians over the seeds, and their spread.
    public struct Row: Sendable, Codable, Hashable {
        public var scenario: String
        public var policy: String
        public var seeds: [UInt64]
        /// Median wait of contributors' jobs, seconds.
        public var contributorWaitP50S: Double?
        /// Free riders' share of all compute received (0 to 1), against ``freeRiderPeerShare``.
        public var freeRiderShare: Double?
        public var freeRiderPeerShare: Double
        public var newcomerWaitP50S: Double?
        public var whitewasherWaitP50S: Double?
        /// Compute contributors received over what they gave.
        public var favourRatio: Double?
        /// Share of honest peers' results that were wrong (`classes.malicious`); `nil` without
        /// malicious lenders.
        public var badResultRate: Double?
        /// Compute sybil regions received over what their lenders gave (`classes.sybils`); `nil`
        /// without sybils.
        public var sybilGain: Double?
        /// For each figure, its smallest and largest value over the seeds.
        public var spread: [String: [Double]]

        /// The JSON names (issue 18's), also under a snake_case encoder.
        enum CodingKeys: String, CodingKey {
            case scenario, policy, seeds, spread
            case contributorWaitP50S = "contributor_wait_p50_s", freeRiderShare = "free_rider_share"
            case freeRiderPeerShare = "free_rider_peer_share", newcomerWaitP50S = "newcomer_wait_p50_s"
            case whitewasherWaitP50S = "whitewasher_wait_p50_s", favourRatio = "favour_ratio"
            case badResultRate = "bad_result_rate", sybilGain = "sybil_gain"
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(scenario, forKey: .scenario)
            try container.encode(policy, forKey: .policy)
            try container.encode(seeds, forKey: .seeds)
            try container.encode(spread, forKey: .spread)
            try container.encode(contributorWaitP50S, forKey: .contributorWaitP50S)
            try container.encode(freeRiderShare, forKey: .freeRiderShare)
            try container.encode(freeRiderPeerShare, forKey: .freeRiderPeerShare)
            try container.encode(newcomerWaitP50S, forKey: .newcomerWaitP50S)
            try container.encode(whitewasherWaitP50S, forKey: .whitewasherWaitP50S)
            try container.encode(favourRatio, forKey: .favourRatio)
            // null without malicious lenders, so a reader sees the key.
            try container.encode(badResultRate, forKey: .badResultRate)
            try container.encode(sybilGain, forKey: .sybilGain)
        }
    }

    /// The figures of one run, by their JSON names.
    static func figures(_ report: LendingReport) -> [String: Double] {
        var figures: [String: Double] = [:]
        figures["contributor_wait_p50_s"] = report.figures(.contributor)?.waitSecondsP50
        figures["newcomer_wait_p50_s"] = report.figures(.newcomer)?.waitSecondsP50
        figures["whitewasher_wait_p50_s"] = report.figures(.whitewasher)?.waitSecondsP50
        if let riders = report.figures(.freeRider), report.computeReceived > 0 {
            figures["free_rider_share"] = riders.computeReceived / report.computeReceived
        }
        if let sybils = report.figures(.sybil), sybils.computeGiven > 0 {
            figures["sybil_gain"] = sybils.computeReceived / sybils.computeGiven
        }
        figures["bad_result_rate"] = report.badResultRate
        if let contributors = report.figures(.contributor), contributors.computeGiven > 0 {
            figures["favour_ratio"] = contributors.computeReceived / contributors.computeGiven
        }
        return figures
    }

    /// Runs `scenarios` (each must have a `[lending]` table) under each of `policies`, with
    /// `seeds` seeds from each scenario's own. `progress` hears each run as it ends.
    public static func run(_ scenarios: [Scenario], policies: [LineRule.Order] = LineRule.Order.allCases, seeds: Int = 1,
                           progress: (Scenario, LineRule.Order, LendingReport) -> Void = { _, _, _ in }) -> [Row] {
        precondition(seeds >= 1 && scenarios.allSatisfy { $0.lending != nil })
        var rows: [Row] = []
        for base in scenarios {
            for policy in policies {
                var runs: [[String: Double]] = []
                var seedsRun: [UInt64] = []
                for offset in 0..<UInt64(seeds) {
                    var scenario = base
                    scenario.seed = base.seed &+ offset
                    scenario.lending?.order = policy
                    let report = LendingSimulation(scenario: scenario).run()
                    progress(scenario, policy, report)
                    runs.append(figures(report))
                    seedsRun.append(scenario.seed)
                }
                rows.append(row(base, policy, seedsRun, runs))
            }
        }
        return rows
    }

    private static func row(_ scenario: Scenario, _ policy: LineRule.Order, _ seeds: [UInt64], _ runs: [[String: Double]]) -> Row {
        var medians: [String: Double] = [:]
        var spread: [String: [Double]] = [:]
        for name in Set(runs.flatMap(\.keys)) {
            let values = runs.compactMap { $0[name] }.sorted()
            guard !values.isEmpty else { continue }
            let middle = values.count / 2
            medians[name] = values.count % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2
            spread[name] = [values[0], values[values.count - 1]]
        }
        return Row(scenario: scenario.name, policy: policy.rawValue, seeds: seeds,
                   contributorWaitP50S: medians["contributor_wait_p50_s"], freeRiderShare: medians["free_rider_share"],
                   freeRiderPeerShare: scenario.lending?.freeRiders ?? 0, newcomerWaitP50S: medians["newcomer_wait_p50_s"],
                   whitewasherWaitP50S: medians["whitewasher_wait_p50_s"], favourRatio: medians["favour_ratio"],
                   badResultRate: medians["bad_result_rate"], sybilGain: medians["sybil_gain"], spread: spread)
    }
}
