import Foundation
import Testing

/// A `potluck node` running as a child process on loopback, with its output in files so a test
/// can wait for lines without blocking on pipes. Every wait is bounded in time.
final class NodeProcess {
    let dataDirectory: String
    let process = Process()
    let stdoutPath: String
    let stderrPath: String
    private(set) var endpoint = ""

    init(dataDirectory: String, arguments: [String] = [], defaultBootstrap: Bool = false, listenOverride: Bool = false,
         environment: [String: String] = [:]) throws {
        self.dataDirectory = dataDirectory
        stdoutPath = dataDirectory + ".stdout"
        stderrPath = dataDirectory + ".stderr"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = PotluckProcess.productsDirectory.appendingPathComponent("potluck")
        process.arguments = ["node", "--data-dir", dataDirectory] + (listenOverride ? [] : ["--listen", "127.0.0.1:0"])
            + (defaultBootstrap ? [] : ["--no-default-bootstrap"]) + arguments
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        process.standardInput = FileHandle.nullDevice
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        try process.run()
        let line = try waitForLine(prefix: "listening on ", in: stdoutPath, timeout: 20)
        endpoint = String(line.dropFirst("listening on ".count))
        // The UDP sockets are bound; the control socket is renamed into place a moment later.
        guard eventually(timeout: 30, { FileManager.default.fileExists(atPath: dataDirectory + "/control.sock") }) else {
            throw CLITestError("the node at \(dataDirectory) printed its address but never put its control socket in place")
        }
    }

    /// Creates a data directory and starts a node in it.
    static func start(in root: URL, name: String, bootstrap: [NodeProcess] = [], arguments: [String] = [],
                      environment: [String: String] = [:]) throws -> NodeProcess {
        let dir = root.appendingPathComponent(name).path
        let created = try PotluckProcess.run(["init", "--data-dir", dir])
        guard created.status == 0 else { throw CLITestError("potluck init failed: \(created.stderr)") }
        return try NodeProcess(dataDirectory: dir, arguments: bootstrap.flatMap { ["--bootstrap", $0.endpoint] } + arguments,
                               environment: environment)
    }

    /// A lender offering one core and 256 MiB, and a borrower that joined through it.
    static func lenderAndBorrower(in root: URL) throws -> (lender: NodeProcess, borrower: NodeProcess) {
        let lender = try start(in: root, name: "lender")
        let borrower = try start(in: root, name: "borrower", bootstrap: [lender])
        #expect(try eventually(timeout: 60) { try CLIProcessTests.NodeCommandTests.tableSize(lender) >= 1 })
        let offer = try lender.cli(["offer", "set", "--cores", "1", "--memory", "256MiB"])
        #expect(offer.status == 0, "\(offer.stderr)")
        return (lender, borrower)
    }

    /// Runs `potluck ARGS --data-dir DIR` against this node.
    func cli(_ arguments: [String]) throws -> PotluckProcess.Result {
        try PotluckProcess.run(arguments + ["--data-dir", dataDirectory])
    }

    /// Sends `signal` and waits (bounded) for the process to exit; returns its status.
    @discardableResult
    func stop(signal: Int32 = SIGTERM, timeout: TimeInterval = 20) -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    deinit { stop(signal: SIGKILL) }
}

/// Polls `path` until a line starts with `prefix`; throws after `timeout` seconds.
func waitForLine(prefix: String, in path: String, timeout: TimeInterval) throws -> String {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        if let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) { return String(line) }
        usleep(20_000)
    }
    throw CLITestError("no line starting with '\(prefix)' in \(path) within \(timeout) s")
}

/// Runs `body` until it returns true or `timeout` passes (bounded retries for eventual states).
func eventually(timeout: TimeInterval = 15, _ body: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    repeat {
        if try body() { return true }
        usleep(100_000)
    } while Date() < deadline
    return false
}
