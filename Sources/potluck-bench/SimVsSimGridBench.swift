import Foundation
import Simulator
#if canImport(Glibc)
import Glibc
#endif

/// `potluck-bench sim-vs-simgrid [--large]`: Potluck's simulator beside SimGrid 3.32 (Debian's
/// `libsimgrid-dev`), the reference simulator of distributed systems, on the workload of
/// SimGrid's Kademlia example (issue 4): every node joins at time 0 through one known node,
/// then every 100 simulated seconds looks up a fixed id until a 1000 s deadline; k = 20,
/// α = 3. Potluck runs `simulations/simgrid-kademlia.toml` (which lists what differs: 160-bit
/// ids, joins through host 0, a stricter success test) at the same node counts: 1,000 and
/// 2,000, and 4,000 with `--large`.
///
/// Both run as child processes under `/usr/bin/time -v`, so each peak memory is one process's
/// maximum resident set; wall time is measured around each child. Potluck's side is the median
/// of 3 runs, SimGrid's one run (it takes minutes). Per node count, rows for wall time
/// (`ratio` = SimGrid seconds / Potluck seconds: how many times faster Potluck is), peak memory
/// (`ratio` = SimGrid MB / Potluck MB) and lookups completed and succeeded (`ratio` = Potluck /
/// SimGrid), each with every figure as extra fields.
func simVsSimGridBench(large: Bool) async throws -> [BenchResult] {
    let scenarioPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("simulations/simgrid-kademlia.toml").path
    let scenario = try Scenario(contentsOf: scenarioPath)
    let deadline = Int(scenario.deployment.measureEnd.rounded())
    let simgrid = try SimGridReference.prepare()
    PotluckBench.printError("""
        sim-vs-simgrid: SimGrid 3.32 examples/cpp/dht-kademlia (32-bit ids, k 20, alpha 3, joins via a random earlier node, \
        success = target id returned) vs Potluck \(scenarioPath) (160-bit ids, k 20, alpha 3, joins via host 0, \
        success = exactly the k true closest); both: all join at 0, a fixed target every 100 s per node until \(deadline) s
        """)
    var results: [BenchResult] = []
    for nodes in large ? [1_000, 2_000, 4_000] : [1_000, 2_000] {
        var potluckRuns: [PotluckRun] = []
        for _ in 0..<3 { potluckRuns.append(try PotluckRun.measure(scenario: scenarioPath, nodes: nodes)) }
        let potluck = potluckRuns.sorted { $0.wallSeconds < $1.wallSeconds }[1]
        let timeout: Double = nodes <= 2_000 ? 900 : 1_200
        let reference = try simgrid.run(nodes: nodes, deadline: deadline, timeout: timeout)
        if reference == nil { PotluckBench.printError("sim-vs-simgrid: SimGrid did not finish \(nodes) nodes within \(Int(timeout)) s") }
        results += rows(nodes: nodes, potluck: potluck, reference: reference)
    }
    return results
}

private func rows(nodes: Int, potluck: PotluckRun, reference: SimGridReference.Run?) -> [BenchResult] {
    let simgridSeconds = reference?.wallSeconds ?? .nan, simgridMB = reference?.peakMB ?? .nan
    let simgridCompleted = reference.map { Double($0.lookupsCompleted) } ?? .nan
    let simgridSucceeded = reference.map { Double($0.lookupsSucceeded) } ?? .nan
    let extra: [(String, Double)] = [
        ("nodes", Double(nodes)),
        ("potluck_seconds", potluck.wallSeconds), ("simgrid_seconds", simgridSeconds),
        ("speed_ratio", simgridSeconds / potluck.wallSeconds),
        ("potluck_peak_mb", potluck.peakMB), ("simgrid_peak_mb", simgridMB), ("memory_ratio", simgridMB / potluck.peakMB),
        ("potluck_lookups_completed", Double(potluck.lookupsCompleted)),
        ("potluck_lookups_succeeded", Double(potluck.lookupsSucceeded)),
        ("simgrid_lookups_completed", simgridCompleted), ("simgrid_lookups_succeeded", simgridSucceeded),
        ("potluck_run_seconds", potluck.runSeconds), ("potluck_events", Double(potluck.events)),
        ("simgrid_simulated_seconds", reference?.simulatedSeconds ?? .nan),
        ("simgrid_nodes_reporting", reference.map { Double($0.nodesReporting) } ?? .nan),
    ]
    func row(_ name: String, _ unit: String, _ mine: Double, _ theirs: Double, ratio: Double) -> BenchResult {
        var result = BenchResult(bench: "sim-vs-simgrid", caseName: "\(nodes) nodes: \(name)", unit: unit, potluck: mine,
                                 reference: theirs, extra: extra)
        result.ratioOverride = ratio
        return result
    }
    return [
        row("wall time", "s", potluck.wallSeconds, simgridSeconds, ratio: simgridSeconds / potluck.wallSeconds),
        row("peak memory", "MB", potluck.peakMB, simgridMB, ratio: simgridMB / potluck.peakMB),
        row("lookups completed", "lookups", Double(potluck.lookupsCompleted), simgridCompleted,
            ratio: Double(potluck.lookupsCompleted) / simgridCompleted),
        row("lookups succeeded", "lookups", Double(potluck.lookupsSucceeded), simgridSucceeded,
            ratio: Double(potluck.lookupsSucceeded) / simgridSucceeded),
    ]
}

/// One Potluck simulation in a child process (`potluck-bench simulate-one`), so its peak
/// memory is its own.
struct PotluckRun {
    var wallSeconds: Double
    var runSeconds: Double
    var peakMB: Double
    var lookupsCompleted: Int
    var lookupsSucceeded: Int
    var events: Int

    static func measure(scenario: String, nodes: Int) throws -> PotluckRun {
        let directory = makeTemporaryDirectory()
        defer { for name in ["out", "time"] { unlink(directory + "/" + name) }; rmdir(directory) }
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let start = nowNanoseconds()
        let status = try SimGridReference.runTool(
            "/usr/bin/time", ["-v", "-o", directory + "/time", executable, "simulate-one", scenario, String(nodes)],
            in: directory, timeout: 1_800, stdout: directory + "/out")
        let seconds = Double(nowNanoseconds() - start) / 1e9
        guard status == 0, let data = FileManager.default.contents(atPath: directory + "/out"),
              let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw BenchError("potluck-bench simulate-one \(scenario) \(nodes) failed (status \(status))")
        }
        let timing = (try? String(contentsOfFile: directory + "/time", encoding: .utf8)) ?? ""
        let kib = timing.split(separator: "\n").first { $0.contains("Maximum resident set size (kbytes)") }
            .flatMap { Double($0.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "") } ?? .nan
        func number(_ key: String) -> Double { (object[key] as? NSNumber)?.doubleValue ?? .nan }
        return PotluckRun(wallSeconds: seconds, runSeconds: number("run_seconds"), peakMB: kib / 1024,
                          lookupsCompleted: Int(number("lookups_completed")), lookupsSucceeded: Int(number("lookups_succeeded")),
                          events: Int(number("events")))
    }
}

/// `potluck-bench simulate-one SCENARIO NODES` (internal): runs one simulation and prints one
/// JSON object — the seconds of the run itself, its peak memory (VmHWM), lookup counts.
func simulateOne(_ arguments: [String]) {
    guard arguments.count == 2, let nodes = Int(arguments[1]) else {
        PotluckBench.printError("usage: potluck-bench simulate-one SCENARIO.toml NODES")
        exit(2)
    }
    do {
        var scenario = try Scenario(contentsOf: arguments[0])
        scenario.platform.nodes = nodes
        let start = nowNanoseconds()
        let report = Simulation(scenario: scenario).run()
        let seconds = Double(nowNanoseconds() - start) / 1e9
        let succeeded = Int((report.lookupSuccessRate * Double(report.lookupsCompleted)).rounded())
        print("{\"nodes\":\(nodes),\"run_seconds\":\(seconds),\"lookups_started\":\(report.lookupsStarted),"
              + "\"lookups_completed\":\(report.lookupsCompleted),\"lookups_succeeded\":\(succeeded),"
              + "\"events\":\(report.events),\"trace_hash\":\"\(report.traceHash)\"}")
    } catch {
        PotluckBench.printError("simulate-one: \(error)")
        exit(1)
    }
}
