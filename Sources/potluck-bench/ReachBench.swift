import PotluckCrypto
import ExampleJobs
import Foundation
import JobChannel
#if canImport(Glibc)
import Glibc
#endif

/// `potluck-bench reach` (spec 0021): how jobs cross home networks.
///
/// 1. A relay's throughput: 100 MiB sent over the job channel through a relay (end to end
///    encrypted, the relay splicing) beside the same over a direct connection, on loopback.
/// 2. In the NAT lab (root only; `Tests/nat-lab/lab.sh`, run from the repository's root with
///    `potluck` built beside this executable): for each lender kind (public, mapped by the
///    router, behind a cone NAT, behind a symmetric NAT and on a network that blocks UDP, the
///    last three through a relay, the last reaching the DHT through a relay's tunnel) and
///    borrowers in other homes, `--attempts N` jobs per pair (default 20), each a `potluck run`
///    of a small wasm job (the primes below 1,000,000, about 15 ms in a release build: long
///    enough for a punch that guesses ports, spec 0021 §6.2, to finish first; a job never waits
///    for a punch, so one of a few ms ends on the relay) inside the borrower's namespace: the
///    share that went direct, punched
///    (spec 0021 §6), relayed, or failed; the time from the command's start to its result
///    (p50, p99) by path; and the share punched where both routers allow it, beside DCUtR's 70%.
func reachBench(attempts: Int) async throws -> [BenchResult] {
    var results = [try await relayThroughput()]
    results += try labReach(attempts: attempts)
    return results
}

/// 100 MiB in 1 MiB messages to an echo-less sink, direct vs through a relay; MB/s.
private func relayThroughput() async throws -> BenchResult {
    let lenderKey = SigningKey.generate(), relayKey = SigningKey.generate(), borrowerKey = SigningKey.generate()
    let total = 100, message = [UInt8](repeating: 0x5A, count: 1 << 20)
    let sink = try await JobChannelServer.bind(host: "127.0.0.1", port: 0, identity: lenderKey) { connection in
        // A lender admits a job before its payload flows (spec 0015 §3.1): this one admits all.
        connection.admit(frameLimit: 2 << 20)
        var received = 0
        while let bytes = try? await connection.receive() {
            received += bytes.count
            if received >= total << 20 { try? await connection.send([1]) }
        }
    }
    let relay = RelayServer(identity: relayKey)
    let relayServer = try await JobChannelServer.bind(host: "127.0.0.1", port: 0, identity: relayKey, relay: relay) { _ in }
    let send = { (connection: SecureConnection) async throws -> Double in
        let start = nowNanoseconds()
        for _ in 0..<total { try await connection.send(message) }
        guard try await connection.receive() == [1] else { throw BenchError("the sink did not confirm") }
        let seconds = Double(nowNanoseconds() - start) / 1e9
        await connection.close()
        return Double(total << 20) / 1e6 / seconds
    }
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await sink.run() }
        group.addTask { try await relayServer.run() }
        group.addTask {
            try? await RelayListener.hold(host: "127.0.0.1", port: relayServer.port, identity: lenderKey, server: sink, punch: nil) {}
        }
        let deadline = nowNanoseconds() + 5_000_000_000
        while relay.statistics.listening == 0 {
            guard nowNanoseconds() < deadline else { throw BenchError("the lender did not listen at the relay") }
            try await Task.sleep(for: .milliseconds(10))
        }
        var relayed: [Double] = [], direct: [Double] = []
        for round in 0..<5 {
            for throughRelay in round % 2 == 0 ? [true, false] : [false, true] {
                let connection = throughRelay
                    ? try await JobChannelClient.connect(relay: "127.0.0.1", port: relayServer.port, identity: borrowerKey, expecting: lenderKey.publicKey,
                                                          punch: nil)
                    : try await JobChannelClient.connect(host: "127.0.0.1", port: sink.port, identity: borrowerKey, expecting: lenderKey.publicKey)
                let rate = try await send(connection)
                if throughRelay { relayed.append(rate) } else { direct.append(rate) }
            }
        }
        group.cancelAll()
        await relayServer.close()
        await sink.close()
        return BenchResult(bench: "reach", caseName: "100 MiB over the job channel through a relay vs direct (loopback)", unit: "MB/s",
                           potluck: median(relayed), reference: median(direct))
    }
}

/// Jobs across the NAT lab's homes, by path.
private func labReach(attempts: Int) throws -> [BenchResult] {
    let script = FileManager.default.currentDirectoryPath + "/Tests/nat-lab/lab.sh"
    let potluck = potluckExecutable
    guard getuid() == 0, FileManager.default.fileExists(atPath: script) else {
        PotluckBench.printError("reach: the NAT lab needs root and the repository's root as working directory; its rows are skipped")
        return []
    }
    guard FileManager.default.isExecutableFile(atPath: potluck) else {
        throw BenchError("no potluck beside this executable at \(potluck): run 'swift build -c release --product potluck' first")
    }
    let lab = "b\(getpid() % 100_000)"
    let lab_ = { (arguments: [String]) throws in try labScript(script, potluck: potluck, arguments) }
    try lab_(["up", lab])
    defer { try? lab_(["down", lab]) }
    let publicPeers = ["--bootstrap", "203.0.113.10:6891", "--bootstrap", "203.0.113.11:6891"]
    try lab_(["node", lab, "pub1", "--relay"])
    try lab_(["node", lab, "pub2", "--bootstrap", "203.0.113.10:6891", "--relay"])
    for home in ["cone", "cone2", "cone3", "sym", "sym2", "upnp", "noudp"] { try lab_(["node", lab, home] + publicPeers) }
    let directory = "/tmp/potluck-lab-\(lab)"
    let job = directory + "/primes.wasm"
    _ = FileManager.default.createFile(atPath: job, contents: Data(ExampleJobs.primes))
    var ids: [String: String] = [:]
    for lender in ["pub2", "upnp", "cone", "sym", "noudp"] {
        // A node publishes once it has a peer: the UDP-blocked home only after 10 s of silence
        // and a tunnel (spec 0021 §5.4).
        try lab_(["potluck", lab, lender, "wait", "--peers", "1", "--timeout", "90s"])
        try lab_(["potluck", lab, lender, "offer", "set", "--cores", "1", "--memory", "256MiB"])
        ids[lender] = try capture(script, potluck: potluck, ["exec", lab, lender, potluck, "id", "--data-dir", "\(directory)/\(lender)"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
    // Wait on the fact: every lender behind a NAT (or UDP-blocked, after 10 s of silence and a
    // tunnel) has published both its relays.
    let deadline = Date().addingTimeInterval(90)
    while ((try? capture(script, potluck: potluck, ["exec", lab, "upnp", potluck, "offers", "--data-dir", "\(directory)/upnp"])) ?? "")
        .components(separatedBy: "relay://").count < 7 {
        guard Date() < deadline else {
            let offers: String
            do { offers = try capture(script, potluck: potluck, ["exec", lab, "upnp", potluck, "offers", "--data-dir", "\(directory)/upnp"]) } catch {
                offers = "\(error)"
            }
            throw BenchError("the lenders behind NATs did not publish their relays within 90 s; offers seen from upnp: \(offers)")
        }
        usleep(200_000)
    }
    // `punchable`: a pair where a punch can work (spec 0021 §6), so a relayed job is a missed punch.
    let pairs: [(name: String, lender: String, borrowers: [String], punchable: Bool)] = [
        ("public lender", "pub2", ["cone", "sym", "upnp"], false),
        ("lender mapped by its router", "upnp", ["cone", "sym"], false),
        ("lender behind a cone NAT, borrower behind another or public", "cone", ["cone3", "cone2", "upnp", "pub2"], true),
        ("lender behind a symmetric NAT, public borrower", "sym", ["pub2"], true),
        ("lender behind a symmetric NAT, borrower behind a NAT that keeps ports (ports guessed)", "sym", ["cone", "upnp"], true),
        ("lender behind a NAT that keeps ports, borrower behind a symmetric one (ports guessed)", "cone", ["sym"], true),
        ("two symmetric NATs", "sym", ["sym2"], false),
        ("lender on a network that blocks UDP, borrower public or behind a cone or symmetric NAT", "noudp", ["pub2", "cone", "sym"], true),
        ("borrower on a network that blocks UDP, public lender", "pub2", ["noudp"], false),
    ]
    var results: [BenchResult] = []
    var done = 0, tried = 0, punchTried = 0, punched = 0
    var timesByPath: [String: [Double]] = [:]
    for pair in pairs {
        var paths: [String: Int] = [:], failed = 0
        var times: [Double] = []
        for attempt in 0..<attempts {
            let borrower = pair.borrowers[attempt % pair.borrowers.count]
            let start = nowNanoseconds()
            let output = try? capture(script, potluck: potluck, ["exec", lab, borrower, potluck, "run", job, "--lender", ids[pair.lender]!,
                                                                "--timeout", "30s", "--json", "--data-dir", "\(directory)/\(borrower)", "--", "1000000"])
            let replica = output.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                .flatMap { ($0["replicas"] as? [[String: Any]])?.first }
            guard replica?["stdout"] as? String == "78498\n", let path = replica?["path"] as? String else {
                failed += 1
                continue
            }
            let milliseconds = Double(nowNanoseconds() - start) / 1e6
            times.append(milliseconds)
            timesByPath[path, default: []].append(milliseconds)
            paths[path, default: 0] += 1
        }
        done += times.count
        tried += attempts
        if pair.punchable {
            punchTried += attempts
            punched += paths["punched", default: 0]
        }
        let share = { (count: Int) in 100 * Double(count) / Double(max(1, attempts)) }
        results.append(BenchResult(bench: "reach", caseName: "a job: \(pair.name) (\(pair.borrowers.joined(separator: "/")) → \(pair.lender))", unit: "ms p50",
                                   potluck: median(times), reference: .nan,
                                   extra: [("p99_ms", percentile(times, 0.99)), ("attempts", Double(attempts)),
                                           ("direct_pct", share(paths["direct", default: 0])), ("punched_pct", share(paths["punched", default: 0])),
                                           ("relayed_pct", share(paths["relayed", default: 0])), ("failed_pct", share(failed))]))
    }
    for path in ["direct", "punched", "relayed"] {
        let times = timesByPath[path, default: []]
        results.append(BenchResult(bench: "reach", caseName: "time from `potluck run` to the result, \(path)", unit: "ms p50",
                                   potluck: median(times), reference: .nan,
                                   extra: [("p99_ms", percentile(times, 0.99)), ("jobs", Double(times.count))]))
    }
    results.append(BenchResult(bench: "reach", caseName: "punched on the first attempt where routers allow it (DCUtR: 70%)", unit: "%",
                               potluck: 100 * Double(punched) / Double(max(1, punchTried)), reference: 70,
                               extra: [("attempts", Double(punchTried))]))
    results.append(BenchResult(bench: "reach", caseName: "jobs completed across the NAT lab's pairs, any path", unit: "%",
                               potluck: 100 * Double(done) / Double(max(1, tried)), reference: 70,
                               extra: [("attempts", Double(tried))]))
    return results
}

private func labScript(_ script: String, potluck: String, _ arguments: [String]) throws {
    _ = try capture(script, potluck: potluck, arguments)
}

/// Runs `lab.sh ARGUMENTS` and returns its stdout; throws when it fails.
func capture(_ script: String, potluck: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = [script] + arguments
    var environment = ProcessInfo.processInfo.environment
    environment["POTLUCK"] = potluck
    process.environment = environment
    let output = Pipe()
    let scratch = makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    let errors = scratch + "/stderr"
    _ = FileManager.default.createFile(atPath: errors, contents: nil)
    process.standardOutput = output
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errors))
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        let said = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
        throw BenchError("lab.sh \(arguments.prefix(4).joined(separator: " ")) exited \(process.terminationStatus): \(said.suffix(300))")
    }
    return String(decoding: data, as: UTF8.self)
}
