// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import ControlAPI
import PotluckCrypto
import ExampleJobs
import Foundation
import JobChannel
import Jobs
import Kademlia
import Node
import Sandbox
#if canImport(Glibc)
import Glibc
#endif

/// `potluck-bench attack`: issue 20's attacks against a real `potluck node` process on loopback,
/// each beside the same honest operations without it. The attackers use many loopback source
/// addresses (127.x.y.z), which the job channel's caps and the DHT's rate limits count like any
/// other; the routing table's address rules exempt loopback, so the sybil attack on them runs
/// in the NAT lab (``labSybilAttack(sybils:seconds:)``).
///
/// For each attack: the honest operation's p50 under attack (`potluck`) and alone (`reference`),
/// `honest_p50_ratio` (under attack / alone; the goal is at most 2), the target's peak resident
/// memory (`peak_rss_mib`), its resident memory 5 s after the attack (`after_rss_mib`) and before
/// any (`idle_rss_mib`), and `crashes` (1 if the target died).
///
/// The machine's two cores are split: the target, its friend and the honest borrower (this
/// process) share core 0; the attackers run in a child process (`attack-worker`) on core 1, so
/// what the honest side loses is what the target's handling of the attack costs it, not CPU
/// the attackers' own crypto took.
///
/// Then, as root, the sybil attack in the NAT lab (``labSybilAttack(sybils:seconds:)``), before
/// the cores are split (the lab's processes would inherit this process's affinity).
func attackBench() async throws -> [BenchResult] {
    let sybils = try labSybilAttack()
    try execute("/usr/bin/taskset", ["-a", "-cp", "0", String(getpid())])
    let target = try await AttackTarget.start()
    defer { target.stop() }
    let idle = target.memory().now
    var results: [BenchResult] = []
    results.append(try await jobChannelAttack(on: target))
    results.append(try await dhtFloodAttack(on: target))
    for index in results.indices { results[index].extra.append(("idle_rss_mib", idle)) }
    return results + (sybils.map { [$0] } ?? [])
}

/// The victim: a lender node with one friend node in its routing table.
struct AttackTarget {
    let lender: ChildProcess
    let friend: ChildProcess
    let root: String
    let lenderKey: PublicKey
    let jobsPort: Int
    let dhtEndpoint: String
    let friendSocket: String

    static func start() async throws -> AttackTarget {
        let potluck = potluckExecutable
        let root = NSTemporaryDirectory() + "potluck-bench-attack-\(getpid())"
        try? FileManager.default.removeItem(atPath: root)
        for name in ["lender", "friend"] { try execute(potluck, ["init", "--data-dir", root + "/" + name]) }
        let lender = try ChildProcess.start(pinnedToCore: 0, executable: potluck,
                                            arguments: ["node", "--data-dir", root + "/lender", "--listen", "127.0.0.1:0", "--no-default-bootstrap"])
        let endpoint = String(try lender.waitForLine(prefix: "listening on ", timeout: 30).dropFirst("listening on ".count))
        let friend = try ChildProcess.start(pinnedToCore: 0, executable: potluck,
                                            arguments: ["node", "--data-dir", root + "/friend", "--listen", "127.0.0.1:0",
                                                        "--no-default-bootstrap", "--bootstrap", endpoint])
        _ = try friend.waitForLine(prefix: "listening on ", timeout: 30)
        try execute(potluck, ["offer", "set", "--cores", "2", "--memory", "256MiB", "--data-dir", root + "/lender"])
        let info = try await ControlClient(dataDirectory: root + "/lender").call(.nodeInfo)
        guard let jobs = info.jobs, let port = jobs.split(separator: ":").last.flatMap({ Int($0) }),
              let key = try? PublicKey(peerID: info.peerID)
        else { throw BenchError("the lender said nothing of its job channel: \(info)") }
        let target = AttackTarget(lender: lender, friend: friend, root: root, lenderKey: key, jobsPort: port, dhtEndpoint: endpoint,
                                  friendSocket: ControlSocket.path(inDataDirectory: root + "/friend"))
        // The friend must be a verified member of the lender's table (it answered a query of the lender's).
        let deadline = Date().addingTimeInterval(30)
        while true {
            let answered = await target.friendRTT() != nil
            if answered, await target.lenderTableSize() >= 1 { break }
            guard Date() < deadline else { throw BenchError("the friend node never joined the lender's table") }
            usleep(100_000)
        }
        return target
    }

    func stop() {
        lender.stop()
        friend.stop()
        try? FileManager.default.removeItem(atPath: root)
    }

    var alive: Bool { lender.process.isRunning }

    /// The lender's resident memory now and at its peak since the last ``resetPeak()``, MiB.
    func memory() -> (now: Double, peak: Double) {
        let text = (try? String(contentsOfFile: "/proc/\(lender.process.processIdentifier)/status", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Double {
            let line = text.split(separator: "\n").first { $0.hasPrefix(name + ":") }
            return (line?.split(separator: " ").dropFirst().first.flatMap { Double($0) } ?? .nan) / 1024
        }
        return (field("VmRSS"), field("VmHWM"))
    }

    func resetPeak() {
        try? "5".write(toFile: "/proc/\(lender.process.processIdentifier)/clear_refs", atomically: false, encoding: .utf8)
    }

    /// One ping from the friend node to the lender, asked through the friend's control socket:
    /// the milliseconds until the friend's answer (the node rounds its own RTT to whole ms), or
    /// `nil` when the lender did not answer.
    func friendRTT() async -> Double? {
        let start = nowNanoseconds()
        guard (try? await ControlClient(socketPath: friendSocket).call(.ping(dhtEndpoint))) != nil else { return nil }
        return Double(nowNanoseconds() - start) / 1e6
    }

    func lenderTableSize() async -> Int {
        (try? await ControlClient(dataDirectory: root + "/lender").call(.dhtStatus))?.routingTableSize ?? 0
    }
}

/// The job channel under ``jobChannelAttackers(port:key:seconds:)`` for 15 s. Honest: a tiny
/// wasm job, one at a time, from a borrower the lender holds receipts with (those of its 30
/// jobs alone, which are the baseline).
private func jobChannelAttack(on target: AttackTarget) async throws -> BenchResult {
    let client = JobClient(identity: SigningKey.generate(), receipts: nil, jobs: nil)
    let lender = JobClient.Lender(key: target.lenderKey, host: "127.0.0.1", port: target.jobsPort)
    let job = GuestJob(module: ExampleJobs.primes, arguments: ["10"],
                       limits: JobLimits(coreSeconds: 10, memoryBytes: 32 << 20, wallSeconds: 10, outputBytes: 1 << 16))
    func honest(_ count: Int, until deadline: Date? = nil) async -> [Double] {
        var latencies: [Double] = []
        for _ in 0..<count {
            if let deadline, Date() >= deadline { break }
            let start = nowNanoseconds()
            do {
                let done = try await client.run(job, cores: 1, on: lender)
                if done.outcome.exitCode == 0 { latencies.append(Double(nowNanoseconds() - start) / 1e6) }
            } catch {
                PotluckBench.printError("honest job: \(error)")
            }
        }
        return latencies
    }
    let baseline = await honest(30)
    target.resetPeak()
    let worker = try ChildProcess.start(pinnedToCore: 1, executable: CommandLine.arguments[0],
                                        arguments: ["attack-worker", "jobs", String(target.jobsPort), target.lenderKey.peerID, "15"])
    _ = try worker.waitForLine(prefix: "attacking", timeout: 30)
    let stop = Date().addingTimeInterval(15)
    try? await Task.sleep(for: .seconds(2))  // let the attack build up
    let underAttack = await honest(1000, until: stop)
    worker.process.waitUntilExit()
    let peak = target.memory().peak
    try? await Task.sleep(for: .seconds(5))
    let after = target.memory().now
    return attackResult("job-channel: 1,000 connections from 250 addresses, idle or asking for 16 MiB; honest tiny jobs",
                        unit: "ms", underAttack: underAttack, baseline: baseline, peak: peak, after: after, alive: target.alive)
}

/// Pings from 2,000 addresses, each on a /24 of its own, as fast as one thread sends, for 10 s.
/// Honest: the friend node (a verified member of the lender's table) pings the lender.
private func dhtFloodAttack(on target: AttackTarget) async throws -> BenchResult {
    func honest(_ count: Int) async -> (latencies: [Double], lost: Int) {
        var latencies: [Double] = [], lost = 0
        for _ in 0..<count {
            if let rtt = await target.friendRTT() { latencies.append(rtt) } else { lost += 1 }
            usleep(50_000)
        }
        return (latencies, lost)
    }
    let baseline = await honest(30).latencies
    guard let port = target.dhtEndpoint.split(separator: ":").last.map(String.init) else { throw BenchError("bad endpoint") }
    target.resetPeak()
    let worker = try ChildProcess.start(pinnedToCore: 1, executable: CommandLine.arguments[0], arguments: ["attack-worker", "dht", port, "10"])
    _ = try worker.waitForLine(prefix: "attacking", timeout: 30)
    usleep(1_000_000)
    let (underAttack, lost) = await honest(100)
    let sent = Int(try worker.waitForLine(prefix: "sent ", timeout: 30).dropFirst("sent ".count)) ?? 0
    worker.process.waitUntilExit()
    let peak = target.memory().peak
    try? await Task.sleep(for: .seconds(5))
    let after = target.memory().now
    var result = attackResult("dht: pings from 2,000 addresses on 2,000 /24s for 10 s; honest pings from a table member",
                              unit: "ms", underAttack: underAttack, baseline: baseline, peak: peak, after: after, alive: target.alive)
    result.extra += [("attack_queries", Double(sent)), ("honest_lost", Double(lost))]
    return result
}

private func attackResult(_ name: String, unit: String, underAttack: [Double], baseline: [Double], peak: Double, after: Double,
                          alive: Bool) -> BenchResult {
    let attacked = percentile(underAttack, 0.5), alone = percentile(baseline, 0.5)
    // `ratio` is a speed ratio, as everywhere: the alone latency over the attacked one (below 1 when slower).
    var result = BenchResult(bench: "attack", caseName: name, unit: unit, potluck: attacked, reference: alone)
    result.ratioOverride = alone / attacked
    result.extra = [("honest_p50_ratio", attacked / alone), ("honest_ops", Double(underAttack.count)), ("peak_rss_mib", peak),
                    ("after_rss_mib", after), ("crashes", alive ? 0 : 1)]
    return result
}

/// `potluck-bench attack-worker jobs PORT PEER_ID SECONDS` or `attack-worker dht PORT SECONDS`:
/// the attackers, in their own process (internal to `attack`).
func attackWorker(_ arguments: [String]) async throws {
    switch arguments.first {
    case "jobs":
        guard arguments.count == 4, let port = Int(arguments[1]), let key = try? PublicKey(peerID: arguments[2]),
              let seconds = Double(arguments[3]) else { throw BenchError("usage: attack-worker jobs PORT PEER_ID SECONDS") }
        say("attacking")
        await jobChannelAttackers(port: port, key: key, seconds: seconds)
    case "dht":
        guard arguments.count == 3, let port = UInt16(arguments[1]), let seconds = Double(arguments[2]) else {
            throw BenchError("usage: attack-worker dht PORT SECONDS")
        }
        say("attacking")
        say("sent \(flood(port: port, seconds: seconds))")
    default: throw BenchError("usage: attack-worker jobs|dht ...")
    }
}

/// A line on stdout at once (the parent waits for it in a file).
private func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// 1,000 connections from 250 addresses, for `seconds`: half finish the handshake and say
/// nothing, half ask to send a 16 MiB job and send 16 MiB of junk when told to go; each holds
/// its connection until the lender drops it, then comes back a second later.
private func jobChannelAttackers(port: Int, key: PublicKey, seconds: Double) async {
    let stop = Date().addingTimeInterval(seconds)
    let stopInstant = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
    let junk = [UInt8](repeating: 0xA5, count: FrameCodec.maxMessageSize - 64)
    let ask = JobMessage.ask(bytes: FrameCodec.maxMessageSize - 64, cores: 1, memoryBytes: 32 << 20,
                             coreMilliseconds: 1000, wallMilliseconds: 1000).encoded()
    await withTaskGroup(of: Void.self) { group in
        for index in 0..<1000 {
            group.addTask {
                let source = "127.0.\(1 + index / 250).\(1 + index % 250)"
                while Date() < stop {
                    guard let connection = try? await JobChannelClient.connect(
                        host: "127.0.0.1", port: port, identity: SigningKey.generate(), expecting: key, timeout: .seconds(5), source: source)
                    else { try? await Task.sleep(for: .seconds(1)); continue }
                    // Closed at the attack's end, if the lender has not dropped it first.
                    let watchdog = Task {
                        try? await Task.sleep(until: stopInstant)
                        await connection.close()
                    }
                    if index % 2 == 0, (try? await connection.send(ask)) != nil,
                       let answer = try? await connection.receive(), (try? JobMessage(encoded: answer)) == .go {
                        try? await connection.send(junk)
                    }
                    while (try? await connection.receive()) != nil {}
                    watchdog.cancel()
                    await connection.close()
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
    }
}

/// Pings to 127.0.0.1:`port` from 2,000 addresses, each on a /24 of its own, as fast as one
/// thread sends, for `seconds` (at most 50 million); returns how many were sent.
private func flood(port: UInt16, seconds: Double) -> Int {
    let sockets = (0..<2000).map { index -> Int32 in
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        let ip = UInt32(127) << 24 | UInt32(1 + index / 250) << 16 | UInt32(index % 250) << 8 | 1
        _ = withSocketAddress(ip, port: 0) { bind(fd, $0, $1) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        return fd
    }
    defer { for fd in sockets { close(fd) } }
    var sent = 0
    var drain = [UInt8](repeating: 0, count: 1500)
    let end = Date().addingTimeInterval(seconds)
    while Date() < end, sent < 50_000_000 {
        for fd in sockets {
            let ping = Array("d1:ad2:id20:\(String(format: "%020d", sent % 1_000_000_000))e1:q4:ping1:t2:aa1:y1:qe".utf8)
            _ = ping.withUnsafeBytes { bytes in
                withSocketAddress(0x7F00_0001, port: port) { sendto(fd, bytes.baseAddress, bytes.count, 0, $0, $1) }
            }
            _ = recv(fd, &drain, drain.count, 0)
            sent += 1
        }
    }
    return sent
}
