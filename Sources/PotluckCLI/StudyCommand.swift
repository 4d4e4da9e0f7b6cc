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
            the seeds is in --json. Each run is an ordinary `potluck simulate` run.
            """)

    @Argument(help: "A directory of scenarios (or one scenario file).") var study: String
    @Option(help: "Seeds per scenario and rule, from the scenario's seed up.") var seeds = 1
    @Option(help: "Replace every scenario's number of peers.") var nodes: Int?
    @Option(help: "Rules to compare, comma-separated (default: all).") var policies: String?
    @Flag(help: "Print one JSON object per scenario and rule instead of a table.") var json = false

    func run() throws {
        guard (1...100).contains(seeds) else { throw CLIError("--seeds must be in 1…100 (got \(seeds))") }
        if let nodes, !(2...10_000_000).contains(nodes) { throw CLIError("--nodes must be in 2…10000000 (got \(nodes))") }
        let rules = try policies.map(Self.rules) ?? LineRule.Order.allCases
        let scenarios = try Self.scenarios(in: study).map { scenario in
            var scenario = scenario
            if let nodes { scenario.platform.nodes = nodes }
            return scenario
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
