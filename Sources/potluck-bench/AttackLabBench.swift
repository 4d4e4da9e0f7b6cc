// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Foundation
import Kademlia
#if canImport(Glibc)
import Glibc
#endif

/// `potluck-bench attack`'s sybil case (issue 20), in the NAT lab: the routing table's address
/// rules exempt loopback, so the attack runs between documentation addresses in network
/// namespaces, every process inside the lab (root only; `Tests/nat-lab/lab.sh`, from the
/// repository's root, with `potluck` built beside this executable).
///
/// Five honest nodes: two public (`pub1`, `pub2`), two mapped by their routers (`upnp`, `igd`)
/// and one behind a NAT (`cone`). The attacker, `evil` on 198.51.100.90, runs
/// `Tests/nat-lab/sybil.py`: `sybils` nodes with BEP 42-valid ids on that one address, each
/// pinging the four reachable nodes every second for `seconds`, answering `ping` and `find_node`
/// (naming one another) and swallowing `get_peers`, `get` and `put`. Honest: `dht put
/// --immutable` then `dht get` of it from `pub2`, one at a time, 30 before the attack (the
/// baseline) and, from the attack's fifth second to its end, a pair every 250 ms at most (at
/// most 200 operations).
///
/// Reports the honest p50 under attack and alone (`honest_p50_ratio`, goal at most 2), the
/// largest number of the attacker's nodes in one bucket of any honest table at the end
/// (`max_per_bucket_per_ip`, goal 1) and in all four tables (`sybil_entries`), `pub1`'s peak
/// memory (`peak_rss_mib`) and `crashes` (honest nodes that died).
func labSybilAttack(sybils: Int = 320, seconds: Int = 30) throws -> BenchResult? {
    let script = FileManager.default.currentDirectoryPath + "/Tests/nat-lab/lab.sh"
    let potluck = potluckExecutable
    guard getuid() == 0, FileManager.default.fileExists(atPath: script) else {
        PotluckBench.printError("attack: the NAT lab needs root and the repository's root as working directory; the sybil case is skipped")
        return nil
    }
    let lab = "a\(getpid() % 100_000)"
    let run = { (arguments: [String]) throws -> String in try capture(script, potluck: potluck, arguments) }
    _ = try run(["up", lab])
    defer { _ = try? run(["down", lab]) }
    let publicPeers = ["--bootstrap", "203.0.113.10:6891", "--bootstrap", "203.0.113.11:6891"]
    _ = try run(["node", lab, "pub1"])
    _ = try run(["node", lab, "pub2", "--bootstrap", "203.0.113.10:6891"])
    for home in ["upnp", "igd", "cone"] { _ = try run(["node", lab, home] + publicPeers) }
    _ = try run(["potluck", lab, "pub2", "wait", "--peers", "3", "--timeout", "60s"])

    var stored = 0
    /// One honest put and get from pub2; the milliseconds of each, or `nil` for one that failed.
    func honest() -> [Double?] {
        stored += 1
        let start = nowNanoseconds()
        guard let target = try? run(["potluck", lab, "pub2", "dht", "put", "--immutable", "honest \(stored) \(getpid())"])
            .trimmingCharacters(in: .whitespacesAndNewlines) else { return [nil] }
        let put = Double(nowNanoseconds() - start) / 1e6
        let getStart = nowNanoseconds()
        let got = (try? run(["potluck", lab, "pub2", "dht", "get", target])) != nil
        return [put, got ? Double(nowNanoseconds() - getStart) / 1e6 : nil]
    }
    let alone = (0..<15).flatMap { _ in honest() }

    // The attacker runs in the background (`lab.sh spawn`), writing to a file: started as a
    // `Process` of this one, it made each later `Process` (the honest commands) wait for its end.
    let attackLog = "/tmp/potluck-lab-\(lab)/sybil.log"
    _ = try run(["spawn", lab, "evil", "sybil", "python3", FileManager.default.currentDirectoryPath + "/Tests/nat-lab/sybil.py",
                 "198.51.100.90", String(sybils), String(seconds), "203.0.113.10:6891", "203.0.113.11:6891", "203.0.113.40:6891",
                 "203.0.113.70:6891"])
    let attackStart = nowNanoseconds()
    var underAttack: [Double?] = []
    usleep(5_000_000)
    // A put and a get every 250 ms at most, so that they span the attack.
    while Double(nowNanoseconds() - attackStart) / 1e9 < Double(seconds - 1), underAttack.count < 200 {
        let pair = nowNanoseconds()
        underAttack += honest()
        let spent = (nowNanoseconds() - pair) / 1000
        if spent < 250_000 { usleep(UInt32(250_000 - spent)) }
    }
    let deadline = Date().addingTimeInterval(Double(seconds + 30))
    var output = ""
    while !output.contains("ATTACK DONE"), Date() < deadline {
        usleep(200_000)
        output = (try? String(contentsOfFile: attackLog, encoding: .utf8)) ?? ""
    }
    var sybilIDs: [UInt16: NodeID] = [:]
    for line in output.split(separator: "\n") {
        let fields = line.split(separator: " ")
        if fields.count == 2, let port = UInt16(fields[0]), let id = NodeID(hex: String(fields[1])) { sybilIDs[port] = id }
    }
    guard sybilIDs.count == sybils, output.contains("ATTACK DONE") else { throw BenchError("the attacker did not run: \(output.suffix(300))") }

    // Where the attacker's nodes ended: per bucket of each reachable honest node's table.
    var maxPerBucket = 0, entries = 0, crashes = 0
    let directory = "/tmp/potluck-lab-\(lab)"
    for host in ["pub1", "pub2", "upnp", "igd", "cone"] {
        let pid = (try? String(contentsOfFile: "\(directory)/\(host).pid", encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        guard let pid, kill(pid, 0) == 0 else {
            crashes += 1
            continue
        }
        guard let status = try? JSONSerialization.jsonObject(with: Data(run(["potluck", lab, host, "dht", "status", "--json"]).utf8)) as? [String: Any],
              let own = (status["node_id"] as? String).flatMap(NodeID.init(hex:)), let buckets = status["buckets"] as? Int,
              let contacts = status["contacts"] as? [String] else { throw BenchError("\(host) gave no DHT status") }
        var perBucket: [Int: Int] = [:]
        for contact in contacts where contact.hasPrefix("198.51.100.90:") {
            guard let port = UInt16(contact.split(separator: ":").last ?? ""), let id = sybilIDs[port] else { continue }
            perBucket[min((own ^ id).leadingZeroBitCount, buckets - 1), default: 0] += 1
            entries += 1
        }
        maxPerBucket = max(maxPerBucket, perBucket.values.max() ?? 0)
    }
    let peak: Double = {
        let pid = (try? String(contentsOfFile: "\(directory)/pub1.pid", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
        return (line?.split(separator: " ").dropFirst().first.flatMap { Double($0) } ?? .nan) / 1024
    }()
    let attacked = underAttack.compactMap { $0 }, baseline = alone.compactMap { $0 }
    let failed = underAttack.count - attacked.count + alone.count - baseline.count
    var result = BenchResult(bench: "attack", caseName: "DHT: \(sybils) sybils on one address (BEP 42 ids, answering pings only) for \(seconds) s in the NAT lab; honest: put and get from another node",
                             unit: "ms p50", potluck: median(attacked), reference: median(baseline))
    result.ratioOverride = median(baseline) / median(attacked)
    result.extra = [("honest_p50_ratio", median(attacked) / median(baseline)), ("honest_p99_ms", percentile(attacked, 0.99)),
                    ("honest_ops", Double(underAttack.count)), ("honest_failed", Double(failed)),
                    ("max_per_bucket_per_ip", Double(maxPerBucket)), ("sybil_entries", Double(entries)),
                    ("peak_rss_mib", peak), ("crashes", Double(crashes))]
    return result
}
