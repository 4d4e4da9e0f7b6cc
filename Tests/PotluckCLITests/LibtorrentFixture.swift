import Foundation
import Testing

/// Real libtorrent DHT nodes (Debian's python3-libtorrent) on 127.0.0.1, driven through
/// `Tests/Interop/libtorrent_dht.py` with JSON lines. Missing libtorrent is a test failure, not a
/// skip: `.ci/run` installs it.
final class LibtorrentFixture {
    let process = Process()
    let input = Pipe(), output = Pipe()
    private var buffer = Data()
    private var nextID = 1
    private(set) var ports: [Int] = []

    init(nodes: Int) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Interop/libtorrent_dht.py")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        // A base port unlikely to collide across runs, below Linux's ephemeral range (32768 and up)
        // where every port-0 socket of the other tests lands; the fixture refuses ports in use.
        let base = 20000 + Int(getpid() % 120) * 100 + Int.random(in: 0..<50)
        process.arguments = [script.path, "--nodes", String(nodes), "--base-port", String(base), "--max-lifetime", "600"]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let ready = try readLine()
        guard ready["ready"] as? Bool == true, let list = ready["nodes"] as? [[String: Any]] else {
            let error = "\(ready["error"] ?? ready)"
            let hint = error.contains("import libtorrent") ? " (apt-get install python3-libtorrent)" : ""
            throw CLITestError("the libtorrent fixture did not start: \(error)\(hint)")
        }
        ports = list.compactMap { $0["port"] as? Int }
    }

    /// Sends a command and returns its answer (the fixture bounds every command in time).
    func call(_ command: String, _ fields: [String: Any] = [:]) throws -> [String: Any] {
        var request = fields
        request["cmd"] = command
        request["id"] = nextID
        nextID += 1
        var line = try JSONSerialization.data(withJSONObject: request)
        line.append(UInt8(ascii: "\n"))
        input.fileHandleForWriting.write(line)
        return try readLine()
    }

    private func readLine() throws -> [String: Any] {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[buffer.startIndex..<newline]
                buffer.removeSubrange(buffer.startIndex...newline)
                guard let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                    throw CLITestError("the fixture printed a non-object line")
                }
                return object
            }
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw CLITestError("the libtorrent fixture exited") }
            buffer.append(chunk)
        }
    }

    deinit {
        try? input.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}
