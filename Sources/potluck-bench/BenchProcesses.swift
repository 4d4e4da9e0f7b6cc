import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The `potluck` executable built beside this bench (`swift build -c release --product potluck`).
let potluckExecutable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    .appendingPathComponent("potluck").path

/// A child process whose stdout goes to a file, so the bench can wait for a line.
final class ChildProcess {
    let process = Process()
    let output: String

    static func start(pinnedToCore core: Int?, executable: String, arguments: [String]) throws -> ChildProcess {
        let child = ChildProcess(output: makeTemporaryDirectory() + "/stdout")
        _ = FileManager.default.createFile(atPath: child.output, contents: nil)
        if let core, FileManager.default.isExecutableFile(atPath: "/usr/bin/taskset") {
            child.process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
            child.process.arguments = ["-c", String(core), executable] + arguments
        } else {
            child.process.executableURL = URL(fileURLWithPath: executable)
            child.process.arguments = arguments
        }
        child.process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: child.output))
        child.process.standardError = FileHandle.nullDevice
        try child.process.run()
        return child
    }

    private init(output: String) { self.output = output }

    func waitForLine(prefix: String, timeout: TimeInterval) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) { return String(line) }
            usleep(20_000)
        }
        throw BenchError("no '\(prefix)' line from \(process.arguments ?? []) within \(timeout) s")
    }

    /// Ends the child with SIGTERM and waits (at most 10 s) by polling: `waitUntilExit` would
    /// not return while another `Process` of the bench (the libtorrent fixture) still runs.
    func stop() {
        if process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(atPath: (output as NSString).deletingLastPathComponent)
    }
}

/// The libtorrent fixture of the interop tests (`Tests/Interop/libtorrent_dht.py`), started
/// with `/usr/bin/python3` (Debian's python3-libtorrent).
final class BenchFixture {
    let process = Process()
    let input = Pipe(), output = Pipe()
    private(set) var ports: [Int] = []
    var pid: Int32 { process.processIdentifier }

    init(nodes: Int) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Tests/Interop/libtorrent_dht.py")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        let base = 30000 + Int(getpid() % 300) * 100
        process.arguments = [script.path, "--nodes", String(nodes), "--base-port", String(base), "--max-lifetime", "600"]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var buffer = Data()
        while !buffer.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw BenchError("the libtorrent fixture exited (apt-get install python3-libtorrent)") }
            buffer.append(chunk)
        }
        let line = buffer.prefix { $0 != UInt8(ascii: "\n") }
        guard let ready = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any], ready["ready"] as? Bool == true,
              let list = ready["nodes"] as? [[String: Any]] else {
            throw BenchError("the libtorrent fixture did not start: \(String(decoding: line, as: UTF8.self))")
        }
        ports = list.compactMap { $0["port"] as? Int }
    }

    func stop() {
        try? input.fileHandleForWriting.close()
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}

/// Pins every thread of `pid` to `core` (libtorrent runs several threads) with
/// `sched_setaffinity(2)`: a `taskset` child would be waited on through Foundation's `Process`,
/// whose `waitUntilExit` does not return while another `Process` (the fixture) still runs.
func pinToCore(pid: Int32, core: Int) throws {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
    var set = cpu_set_t()
    withUnsafeMutableBytes(of: &set) { bytes in
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
        bytes[core / 8] |= UInt8(1) << UInt8(core % 8)
    }
    // Glibc's Swift module leaves out the _GNU_SOURCE call, so look it up (RTLD_DEFAULT is 0).
    typealias SetAffinity = @convention(c) (Int32, Int, UnsafeRawPointer) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sched_setaffinity") else {
        throw BenchError("this libc has no sched_setaffinity")
    }
    let setAffinity = unsafeBitCast(symbol, to: SetAffinity.self)
    for task in tasks {
        guard let thread = Int32(task) else { continue }
        guard setAffinity(thread, MemoryLayout<cpu_set_t>.size, &set) == 0 else {
            throw BenchError("cannot pin thread \(thread) to core \(core): errno \(errno)")
        }
    }
}
