import Foundation
import Testing

/// One NAT lab (`Tests/nat-lab/lab.sh`) for one test: real Linux NATs in network namespaces,
/// built by ``init()`` and removed by ``down()``, which the test calls in a `defer` so that a
/// failing test leaves nothing behind. Every process, the CLI included, runs inside the lab's
/// namespaces.
final class NATLab {
    static let script = PotluckProcess.packageDirectory.appendingPathComponent("Tests/nat-lab/lab.sh")
    /// `POTLUCK_SKIP_NAT_LAB=1` turns the lab tests off on a machine without root; CI never sets it.
    static let skipped = ProcessInfo.processInfo.environment["POTLUCK_SKIP_NAT_LAB"] == "1"

    let name: String
    var directory: String { "/tmp/potluck-lab-\(name)" }

    init() throws {
        name = "t" + String((0..<5).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })
        guard getuid() == 0 else {
            throw CLITestError("the NAT lab needs root (network namespaces); run the tests as root, or set POTLUCK_SKIP_NAT_LAB=1")
        }
        let up = try script(["up", name])
        guard up.status == 0 else { throw CLITestError("lab.sh up failed: \(up.stderr)") }
    }

    func down() {
        _ = try? script(["down", name])
    }

    /// Starts `potluck node` in `host`, joined through `bootstrap`; returns once it answers.
    func node(_ host: String, bootstrap: [String] = [], _ extra: [String] = []) throws {
        let result = try script(["node", name, host] + bootstrap.flatMap { ["--bootstrap", $0] } + extra)
        guard result.status == 0 else { throw CLITestError("lab.sh node \(host) failed: \(result.stderr)") }
    }

    /// Runs the CLI inside `host`'s namespace with that host's data directory.
    func potluck(_ host: String, _ arguments: [String], after: [String] = []) throws -> PotluckProcess.Result {
        try script(["exec", name, host, PotluckProcess.executable.path] + arguments + ["--data-dir", "\(directory)/\(host)"] + after)
    }

    /// Runs a program inside `host`'s namespace.
    func exec(_ host: String, _ command: [String]) throws -> PotluckProcess.Result {
        try script(["exec", name, host] + command)
    }

    /// Starts `command` inside `host`'s namespace in the background and returns at once; its
    /// output goes to ``directory``/`name`.log.
    func spawn(_ host: String, name logName: String, _ command: [String]) throws {
        let result = try script(["spawn", name, host, logName] + command)
        guard result.status == 0 else { throw CLITestError("lab.sh spawn \(host) failed: \(result.stderr)") }
    }

    /// The process id of `host`'s node.
    func nodePID(_ host: String) -> Int32? {
        (try? String(contentsOfFile: "\(directory)/\(host).pid", encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// Whether process `pid` has ended (gone, or a zombie nobody reaped: the lab's processes are
    /// orphans once `lab.sh` returns).
    func hasEnded(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
        return stat.split(separator: ")").last?.trimmingCharacters(in: .whitespaces).hasPrefix("Z") ?? true
    }

    /// What `host`'s node says of its reachability, in words.
    func reachability(_ host: String) -> String {
        let info = try? potluck(host, ["dht", "status"])
        return info?.stdout.split(separator: "\n").first { $0.hasPrefix("reachability: ") }.map { String($0.dropFirst(14)) } ?? ""
    }

    private func script(_ arguments: [String]) throws -> PotluckProcess.Result {
        var environment = ProcessInfo.processInfo.environment
        environment["POTLUCK"] = PotluckProcess.executable.path
        return try PotluckProcess.run(executable: URL(fileURLWithPath: "/bin/bash"), [Self.script.path] + arguments, environment: environment)
    }
}
