// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import ArgumentParser
import Foundation
import Lending
import Simulator

/// `potluck study DIR`: issue 18's scoreboard — every line rule on every lending scenario of a
/// directory, over several seeds, in one table (or one JSON object per scenario and rule).
struct StudyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "study",
        abstract: "Run every line rule on every lending scenario of a directory and compare them.",
        discussion: """
            For each scenario with a [lending] table in DIR (or the one file given) and each rule a \
            lender can serve its line by (spec/0022-line-rule.md), runs the lending economy with \
            --seeds seeds from the scenario's own and prints the medians: contributors' wait, free \
            riders' share of the compute received (against their share of peers), newcomers' and \
            whitewashers' waits, and contributors' favour ratio (received over given). Spread over \
            the seeds is in --json. --sweep varies one [lending] key over several values. Each run \
            is an ordinary `potluck simulate` run.
            """)

    @Argument(help: "A directory of scenarios (or one scenario file).") var study: String
    @Option(help: "Seeds per scenario and rule, from the scenario's seed up.") var seeds = 1
    @Option(help: "Replace every scenario's number of peers.") var nodes: Int?
    @Option(help: "Rules to compare, comma-separated (default: all).") var policies: String?
    @Option(help: "Run each scenario once per value of a [lending] key: NAME=V1,V2,... (NAME: \(Self.sweepable.keys.sorted().joined(separator: ", "))).")
    var sweep: String?
    @Flag(help: "Print one JSON object per scenario and rule instead of a table.") var json = false

    func run() throws {
        guard (1...100).contains(seeds) else { throw CLIError("--seeds must be in 1…100 (got \(seeds))") }
        if let nodes, !(2...10_000_000).contains(nodes) { throw CLIError("--nodes must be in 2…10000000 (got \(nodes))") }
        let rules = try policies.map(Self.rules) ?? LineRule.Order.allCases
        let sweep = try self.sweep.map(Self.parseSweep)
        let scenarios = try Self.scenarios(in: study).flatMap { scenario in
            var scenario = scenario
            if let nodes { scenario.platform.nodes = nodes }
            return try sweep.map { try Self.sweep(scenario, $0) } ?? [scenario]
        }
        let runs = scenarios.count * rules.count * seeds
        var done = 0
        let rows = LendingStudy.run(scenarios, policies: rules, seeds: seeds) { scenario, rule, report in
            done += 1
            FileHandle.standardError.write(Data("potluck: [\(done)/\(runs)] \(scenario.name), \(rule.rawValue), seed \(scenario.seed): trace \(report.traceHash)\n".utf8))
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            for row in rows { print(String(decoding: try encoder.encode(row), as: UTF8.self)) }
        } else {
            print(Self.table(rows))
        }
    }

    /// The `[lending]` keys `--sweep` can vary, and how each is set.
    static let sweepable: [String: @Sendable (inout Scenario.Lending, Double) -> Bool] = [
        "free_riders": number(\.freeRiders, in: 0...1, isFraction: true),
        "malicious": number(\.malicious, in: 0...1, isFraction: true),
        "spies": number(\.spies, in: 0...1, isFraction: true),
        "malicious_honesty": number(\.maliciousHonesty, in: 0...1),
        "gave_weight": number(\.gaveWeight, in: 0...1),
        "jobs_per_hour": number(\.jobsPerHour, in: 0...3600),
        "starter_grant": number(\.starterGrant, in: 0...1e9),
        "malicious_collective_work_s": number(\.maliciousCollectiveWork, in: 0...1e12),
        "replicas": integer(\.replicas, in: 1...7),
        "sybil_identities": integer(\.sybilIdentities, in: 1...100_000),
    ]

    /// Sets one whole number of `[lending]`; `false` when it is fractional or outside `range`.
    private static func integer(_ key: any WritableKeyPath<Scenario.Lending, Int> & Sendable,
                                in range: ClosedRange<Int>) -> @Sendable (inout Scenario.Lending, Double) -> Bool {
        { lending, value in
            guard value == value.rounded(), let whole = Int(exactly: value), range.contains(whole) else { return false }
            lending[keyPath: key] = whole
            return true
        }
    }

    /// Sets one number of `[lending]`; `false` when it is outside `range` or, for a class's
    /// fraction, leaves the contributors less than nothing.
    private static func number(_ key: any WritableKeyPath<Scenario.Lending, Double> & Sendable, in range: ClosedRange<Double>,
                               isFraction: Bool = false) -> @Sendable (inout Scenario.Lending, Double) -> Bool {
        { lending, value in
            lending[keyPath: key] = value
            return range.contains(value) && (!isFraction || lending.contributors >= 0)
        }
    }

    /// `--sweep NAME=V1,V2,...` read: the key and its values, as written.
    static func parseSweep(_ text: String) throws -> (name: String, values: [String]) {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, sweepable[parts[0]] != nil, !parts[1].isEmpty else {
            throw CLIError("--sweep '\(text)' must be NAME=V1,V2,... with NAME one of \(sweepable.keys.sorted().joined(separator: ", "))")
        }
        return (parts[0], parts[1].split(separator: ",").map(String.init))
    }

    /// `scenario` once per value of the sweep, each named `SCENARIO NAME=V`.
    static func sweep(_ scenario: Scenario, _ sweep: (name: String, values: [String])) throws -> [Scenario] {
        try sweep.values.map { item in
            var variant = scenario
            guard var lending = variant.lending, let set = sweepable[sweep.name], let value = Double(item), set(&lending, value) else {
                throw CLIError("--sweep: '\(item)' is not a valid \(sweep.name) for \(scenario.name)")
            }
            variant.lending = lending
            variant.name = "\(scenario.name) \(sweep.name)=\(item)"
            return variant
        }
    }

    static func rules(_ list: String) throws -> [LineRule.Order] {
        try list.split(separator: ",").map { name in
            guard let rule = LineRule.Order(rawValue: String(name)) else {
                throw CLIError("--policies: '\(name)' is not a rule; use \(LineRule.Order.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return rule
        }
    }

    /// The lending scenarios of `path` (a directory, sorted by name, or one file).
    static func scenarios(in path: String) throws -> [Scenario] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CLIError("\(path) does not exist; give a directory of scenarios such as simulations/")
        }
        let files = isDirectory.boolValue
            ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".toml") }.sorted().map { path + "/" + $0 }
            : [path]
        var scenarios: [Scenario] = []
        for file in files {
            do {
                let scenario = try Scenario(contentsOf: file)
                if scenario.lending != nil { scenarios.append(scenario) }
            } catch {
                throw CLIError("\(file): \(error.description)")
            }
        }
        guard !scenarios.isEmpty else { throw CLIError("\(path) has no scenario with a [lending] table; see simulations/lending-*.toml") }
        return scenarios
    }

    static func table(_ rows: [LendingStudy.Row]) -> String {
        let header = ["scenario", "rule", "contrib wait p50 s", "free riders' share", "newcomer wait p50 s", "whitewasher wait p50 s",
                      "favour ratio", "bad results", "sybil gain"]
        let number = { (value: Double?, digits: Int) in value.map { String(format: "%.\(digits)f", $0) } ?? "—" }
        let lines = rows.map { row in
            [row.scenario, row.policy, number(row.contributorWaitP50S, 0),
             row.freeRiderShare.map { String(format: "%.1f %% (of %.0f %% peers)", $0 * 100, row.freeRiderPeerShare * 100) } ?? "—",
             number(row.newcomerWaitP50S, 0), number(row.whitewasherWaitP50S, 0), number(row.favourRatio, 2),
             number(row.badResultRate, 3), number(row.sybilGain, 2)]
        }
        let all = [header] + lines
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { line in
            line.enumerated().map { column, text in text.padding(toLength: widths[column], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}
