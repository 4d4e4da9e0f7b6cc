// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Foundation
import Simulator

extension SimulateCommand {
    /// A scenario with `[lending]` runs the lending economy (`spec/0018-lending-simulation.md`)
    /// instead of the DHT: same flags, its own table, JSON, CSV and plots.
    func runLending(_ scenario: Scenario, replay: String) throws {
        let simulation = LendingSimulation(scenario: scenario)
        var (report, seconds) = Self.timed(scenario) { progress in
            if let progress { simulation.hooks.progress = { progress.update($0) } }
            return simulation.run()
        }
        report.wallSeconds = seconds
        if let peak = Self.memory(field: "VmHWM") { report.peakMemoryBytes = peak }
        if let out {
            do {
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
                let base = URL(fileURLWithPath: out)
                try simulation.seriesCSV.write(to: base.appendingPathComponent("lending-series.csv"), atomically: true, encoding: .utf8)
                try (report.json() + "\n").write(to: base.appendingPathComponent("report.json"), atomically: true, encoding: .utf8)
                for (name, plot) in simulation.plots {
                    try plot.svg.write(to: base.appendingPathComponent(name), atomically: true, encoding: .utf8)
                }
            } catch {
                throw CLIError("cannot write to \(out): \(error.localizedDescription)")
            }
        }
        print(json ? try report.json() : report.table)
        if !report.passed {
            let failed = report.expectations.filter { !$0.ok && $0.checked }.map(\.metric).joined(separator: ", ")
            throw CLIError("expected figures not met (\(failed)); replay: \(replay)")
        }
    }
}
