// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import ArgumentParser
import Foundation
import Simulator

/// `potluck simulate SCENARIO.toml`: runs a scenario on the discrete-event simulator (the same
/// DHT core as `potluck node`, on a virtual clock) and prints what it measured.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Simulate a Potluck network described by a scenario file.",
        discussion: """
            Runs every peer's real DHT state machine on a virtual clock over a modelled network \
            (latency, loss, churn, NAT). One seed reproduces a run bit for bit: each run prints its \
            seed and trace hash, and a failed expectation prints the command that replays it. \
            A scenario with a [lending] table runs the lending economy instead (lenders, borrowers \
            and the community's rule, spec/0018-lending-simulation.md). \
            See spec/0010-simulator.md and simulations/*.toml.
            """)

    @Argument(help: "The scenario file (TOML).") var scenario: String
    @Option(help: "Replace the scenario's seed.") var seed: UInt64?
    @Option(help: "Replace the scenario's number of nodes.") var nodes: Int?
    @Flag(help: "Print one JSON object instead of a table.") var json = false
    @Flag(inversion: .prefixedNo, help: "Pass datagrams through the real KRPC codec (default: the scenario's `codec`, true).")
    var codec: Bool?
    @Option(help: "Write the time series (CSV), the report (JSON) and plots (SVG) to this directory.") var out: String?

    func run() throws {
        var scenario: Scenario
        do {
            scenario = try Scenario(contentsOf: self.scenario)
        } catch {
            throw CLIError("\(self.scenario): \(error.description)")
        }
        if let seed { scenario.seed = seed }
        if let codec { scenario.codec = codec }
        if let nodes {
            guard (2...10_000_000).contains(nodes) else { throw CLIError("--nodes must be in 2…10000000 (got \(nodes))") }
            scenario.platform.nodes = nodes
        }
        let replay = "potluck simulate \(self.scenario) --seed \(scenario.seed)" + (nodes.map { " --nodes \($0)" } ?? "")
            + (scenario.codec ? "" : " --no-codec")
        if scenario.lending != nil { return try runLending(scenario, replay: replay) }
        let baseline = Self.memory(field: "VmRSS")
        let simulation = Simulation(scenario: scenario)
        var (report, seconds) = Self.timed(scenario) { progress in
            if let progress { simulation.hooks.progress = { progress.update($0) } }
            return simulation.run()
        }
        report.wallSeconds = seconds
        report.eventsPerSecond = Double(report.events) / max(report.wallSeconds ?? 1, 1e-9)
        if let peak = Self.memory(field: "VmHWM") {
            report.peakMemoryBytes = peak
            report.bytesPerNode = Double(peak - (baseline ?? 0)) / Double(scenario.platform.nodes)
        }
        if let out { try write(simulation, report, to: out) }
        if json {
            print(try report.json())
        } else {
            print(report.table)
        }
        if !report.passed {
            let failed = report.expectations.filter { !$0.ok && $0.checked }.map(\.metric).joined(separator: ", ")
            throw CLIError("expected figures not met (\(failed)); replay: \(replay)")
        }
    }

    private func write(_ simulation: Simulation, _ report: SimulationReport, to directory: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let base = URL(fileURLWithPath: directory)
            try simulation.seriesCSV.write(to: base.appendingPathComponent("series.csv"), atomically: true, encoding: .utf8)
            let latencies = simulation.sortedLatencies.enumerated().map { "\($0.element),\(Double($0.offset + 1) / Double(simulation.sortedLatencies.count))" }
            try (["latency_ms,fraction"] + latencies).joined(separator: "\n").appending("\n")
                .write(to: base.appendingPathComponent("latency-cdf.csv"), atomically: true, encoding: .utf8)
            let hops = report.hopsHistogram.enumerated().map { "\($0.offset),\($0.element)" }
            try (["hops,lookups"] + hops).joined(separator: "\n").appending("\n")
                .write(to: base.appendingPathComponent("hops.csv"), atomically: true, encoding: .utf8)
            try (report.json() + "\n").write(to: base.appendingPathComponent("report.json"), atomically: true, encoding: .utf8)
            for (name, plot) in simulation.plots {
                try plot.svg.write(to: base.appendingPathComponent(name), atomically: true, encoding: .utf8)
            }
        } catch {
            throw CLIError("cannot write to \(directory): \(error.localizedDescription)")
        }
    }

    /// A field of /proc/self/status in bytes (Linux), e.g. VmHWM, the peak resident set.
    static func memory(field: String) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
            let digits = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
            return digits.map { $0 * 1024 }
        }
        return nil
    }
}

/// A one-line progress bar on standard error, drawn only when it is a terminal.
extension SimulateCommand {
    /// Runs `body` with a progress bar on stderr (nil when stderr is not a terminal) and returns
    /// its result and the wall seconds it took.
    static func timed<Report>(_ scenario: Scenario, _ body: (ProgressBar?) -> Report) -> (Report, Double) {
        let clock = ContinuousClock()
        let started = clock.now
        let progress = ProgressBar(label: "\(scenario.name) seed \(scenario.seed)")
        let report = body(progress.enabled ? progress : nil)
        progress.finish()
        let elapsed = clock.now - started
        return (report, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }
}

final class ProgressBar: @unchecked Sendable {
    // Used from the one thread that runs the simulation; never shared.
    let label: String
    let enabled = isatty(STDERR_FILENO) != 0
    private var lastPercent = -1

    init(label: String) { self.label = label }

    func update(_ fraction: Double) {
        let percent = Int(min(1, max(0, fraction)) * 100)
        guard percent != lastPercent else { return }
        lastPercent = percent
        let filled = percent * 30 / 100
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(percent)%".utf8))
    }

    func finish() {
        if enabled, lastPercent >= 0 { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
