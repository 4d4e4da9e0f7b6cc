import ControlAPI
import ArgumentParser
import Foundation
import Node

/// `potluck wait`: returns once the node of a data directory answers and knows enough peers, so
/// a script continues only when the node is ready (spec 0008 §1.2).
struct WaitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait",
        abstract: "Wait until the node answers and its routing table holds enough peers.",
        discussion: """
            Exits 0 as soon as the node of --data-dir answers on its control socket with at least \
            --peers contacts in its routing table (0: only that it answers); exits 1 with the \
            reason after --timeout.
            """)

    @OptionGroup var data: DataDirectoryOptions
    @Option(help: "Contacts the routing table must hold.") var peers = 1
    @Option(help: "How long to wait, e.g. 30s or 2m.") var timeout = "60s"

    func validate() throws {
        guard peers >= 0 else { throw ValidationError("--peers must be 0 or more") }
        guard Quantities.duration(timeout) != nil else { throw ValidationError("--timeout '\(timeout)' is not a duration: use e.g. 30s or 2m") }
    }

    func run() async throws {
        let limit = Quantities.duration(timeout) ?? .seconds(60)
        let size = try await Readiness.wait(for: data.directory, peers: peers, within: limit)
        print("ready: \(size) \(size == 1 ? "peer" : "peers") in the routing table")
    }
}

/// `potluck stop`: asks the node of a data directory to shut down (SIGTERM, as systemd does) and
/// returns once it has, so the data directory is free again.
struct StopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop the node running on a data directory and wait until it has stopped.")

    @OptionGroup var data: DataDirectoryOptions
    @Option(help: "How long to wait, e.g. 30s.") var timeout = "30s"

    func validate() throws {
        guard Quantities.duration(timeout) != nil else { throw ValidationError("--timeout '\(timeout)' is not a duration: use e.g. 30s") }
    }

    func run() throws {
        let directory = data.directory.path
        guard let pid = DataDirectoryLock.holder(ofDataDirectory: directory) else {
            print("no node is running on \(directory)")
            return
        }
        guard pid > 0 else {
            throw CLIError("a node holds \(DataDirectoryLock.path(inDataDirectory: directory)) but its pid cannot be read; stop it by hand")
        }
        guard kill(pid, SIGTERM) == 0 else {
            throw CLIError("cannot signal the node on \(directory) (pid \(pid)): \(String(cString: strerror(errno)))")
        }
        let deadline = ContinuousClock.now + (Quantities.duration(timeout) ?? .seconds(30))
        while DataDirectoryLock.holder(ofDataDirectory: directory) != nil {
            guard ContinuousClock.now < deadline else {
                throw CLIError("the node (pid \(pid)) did not stop within \(timeout); 'kill -9 \(pid)' ends it at once (committed records are kept)")
            }
            usleep(20_000)
        }
        print("stopped the node (pid \(pid))")
    }
}

/// Waiting for a node to be ready, shared by `potluck wait` and `potluck node --detach`.
enum Readiness {
    /// Polls the node's control socket until it answers with at least `peers` contacts; returns
    /// the table's size. `starting`, when given, is the node's process: waiting stops with the
    /// last error it logged (after byte `logOffset` of its log: this start's lines only) if it
    /// exits first.
    static func wait(for directory: DataDirectory, peers: Int, within limit: Duration,
                     starting: (pid: pid_t, log: String, logOffset: Int)? = nil) async throws -> Int {
        let client = ControlClient(dataDirectory: directory.path, timeout: .seconds(10))
        let deadline = ContinuousClock.now + limit
        var last = "no node answered"
        while true {
            if let starting {
                var status: Int32 = 0
                if waitpid(starting.pid, &status, WNOHANG) == starting.pid {
                    let written = (FileManager.default.contents(atPath: starting.log) ?? Data()).dropFirst(starting.logOffset)
                    let lines = String(decoding: written, as: UTF8.self).split(separator: "\n")
                    let reason = lines.last(where: { $0.contains("Error") || $0.contains("error") }) ?? lines.last ?? "no output"
                    throw CLIError("the node stopped as it started: \(reason.trimmingCharacters(in: .whitespaces)) (log: \(starting.log))")
                }
            }
            do {
                let size = try await client.call(.dhtStatus).routingTableSize
                if size >= peers { return size }
                last = "the node answers but knows \(size) of the \(peers) \(peers == 1 ? "peer" : "peers") asked for"
            } catch {
                last = error.status == nil ? "no node answered on \(directory.path)/control.sock" : error.description
            }
            guard ContinuousClock.now < deadline else {
                throw CLIError("not ready within \(limit.components.seconds) s: \(last)\(starting == nil ? "; is 'potluck node' running with this --data-dir?" : "")")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
