// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Foundation
import Storage
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Kills `potluck-crash-writer` with SIGKILL at random moments and checks that every
/// reported commit survived and no transaction is half-present.
@Suite("Crash durability", .serialized)
struct CrashTests {
    static let rounds = 3
    static let roundTimeout: Duration = .seconds(20)

    @Test(.timeLimit(.minutes(2)))
    func committedTransactionsSurviveKill9() throws {
        let writer = try #require(Self.writerExecutable(), Comment(rawValue: Self.missingWriterMessage))
        let dir = TemporaryDirectory("crash")
        var highestReported = 0
        for round in 1...Self.rounds {
            let target = highestReported + Int.random(in: 200...700)
            let extra = Duration.milliseconds(Int.random(in: 0...150))
            let reported = try runAndKill(writer, dir: dir.path, until: target, extra: extra)
            #expect(reported.highest >= target, "round \(round): writer reached \(reported.highest)")
            #expect(reported.strayLines.isEmpty, "round \(round): writer said \(reported.strayLines)")
            highestReported = max(highestReported, reported.highest)
            try verify(dir: dir.path, highestReported: highestReported, round: round)
        }
    }

    struct Report {
        var highest = 0
        var strayLines: [String] = []
    }

    /// Runs the writer until it reported `target` commits (plus `extra` time), kills it
    /// with SIGKILL and returns the highest commit it reported.
    private func runAndKill(
        _ writer: URL, dir: String, until target: Int, extra: Duration
    ) throws -> Report {
        let process = Process()
        process.executableURL = writer
        process.arguments = [dir, String(64 << 10)]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        var reader = LineReader(fd: pipe.fileHandleForReading.fileDescriptor)
        let clock = ContinuousClock()
        let deadline = clock.now + Self.roundTimeout
        while reader.report.highest < target && clock.now < deadline && reader.pump(until: deadline) {}
        let killAt = min(clock.now + extra, deadline)
        while clock.now < killAt && reader.pump(until: killAt) {}
        kill(process.processIdentifier, SIGKILL)
        let drainDeadline = clock.now + .seconds(5)
        while reader.pump(until: drainDeadline) && clock.now < drainDeadline {}
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal, "writer exited by itself")
        try? pipe.fileHandleForReading.close()
        return reader.report
    }

    /// Reopens the environment and checks that it holds exactly transactions 1…last.
    private func verify(dir: String, highestReported: Int, round: Int) throws {
        let env = try Environment(path: dir)
        defer { env.close() }
        let db = try env.database("crash")
        let entries = try env.read { try $0.entries(db) }
        var values: [String: [UInt8]] = [:]
        for entry in entries { values[String(decoding: entry.key, as: UTF8.self)] = entry.value }
        let lastText = try #require(values["last"], "round \(round): no `last` key")
        let last = try #require(Int(String(decoding: lastText, as: UTF8.self)))
        #expect(last >= highestReported, "round \(round): last \(last) < reported \(highestReported)")
        #expect(entries.count == 3 * last + 1, "round \(round): \(entries.count) entries for last \(last)")
        var broken: [Int] = []
        for n in 1...max(last, 1) where !Self.complete(n, in: values) { broken.append(n) }
        #expect(broken.isEmpty, "round \(round): incomplete transactions \(broken.prefix(10))")
        let beyond = Self.padded(last + 1)
        #expect(values.keys.allSatisfy { $0 == "last" || $0 < beyond }, "round \(round): data past last")
    }

    private static func complete(_ n: Int, in values: [String: [UInt8]]) -> Bool {
        let p = padded(n)
        return values["\(p)/a"] == Array("a:\(n)".utf8) && values["\(p)/b"] == Array("b:\(n)".utf8)
            && values["\(p)/c"] == crashValue(n)
    }

    /// Mirrors the writer's value for `<n>/c`.
    static func crashValue(_ n: Int) -> [UInt8] {
        let count = (n &* 37) % 6000 + 1
        return (0..<count).map { UInt8(truncatingIfNeeded: n &+ $0) }
    }

    static func padded(_ n: Int) -> String {
        let digits = String(n)
        return String(repeating: "0", count: max(0, 10 - digits.count)) + digits
    }

    static let missingWriterMessage = """
        potluck-crash-writer was not found next to the test binary; build it with \
        `swift build --build-tests` (or run `swift test`, which builds all targets)
        """

    /// The writer executable, looked up in the directory of the running test binary.
    static func writerExecutable() -> URL? {
        var directories: [URL] = []
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        if exe.path != "/proc/self/exe" { directories.append(exe.deletingLastPathComponent()) }
        directories.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            directories.append(bundle.bundleURL.deletingLastPathComponent())
        }
        return directories.map { $0.appendingPathComponent("potluck-crash-writer") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }
}

/// Reads "committed <n>" lines from a pipe with `poll`, never blocking past a deadline.
struct LineReader {
    let fd: Int32
    var report = CrashTests.Report()
    private var pending: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    /// Reads what is available before `deadline`; returns false at end of file.
    mutating func pump(until deadline: ContinuousClock.Instant) -> Bool {
        let remaining = deadline - ContinuousClock.now
        let millis = max(0, min(50, Int(remaining.components.seconds * 1000
            + remaining.components.attoseconds / 1_000_000_000_000_000)))
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(millis)) > 0 else { return true }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count <= 0 { return false }
        pending += chunk[0..<count]
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            record(String(decoding: pending[..<newline], as: UTF8.self))
            pending.removeSubrange(...newline)
        }
        return true
    }

    private mutating func record(_ line: String) {
        if line.hasPrefix("committed "), let n = Int(line.dropFirst("committed ".count)) {
            report.highest = max(report.highest, n)
        } else {
            report.strayLines.append(line)
        }
    }
}
