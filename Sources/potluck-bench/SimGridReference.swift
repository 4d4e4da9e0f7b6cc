import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// SimGrid's Kademlia example (`examples/cpp/dht-kademlia` of Debian's `simgrid` 3.32 source
/// package, LGPL-2.1), fetched and built at run time into a cache directory and never
/// committed: `apt-get source --download-only simgrid`, only the example and the platform it is
/// tested on are unpacked, and its `.cpp` files are compiled against the installed
/// `libsimgrid-dev`. Each run gets the example's own deployment (`generate.py`, seeded) and
/// `cluster_backbone.xml` widened to the node count, under `/usr/bin/time -v`.
struct SimGridReference {
    /// The example's binary and the directory of its sources.
    let binary: String
    let exampleDirectory: String
    let platformTemplate: String
    let cache: String

    /// One run of the example: what `/usr/bin/time` and the example's log say.
    struct Run {
        var wallSeconds: Double
        var peakMB: Double
        var lookupsCompleted: Int
        var lookupsSucceeded: Int
        var nodesReporting: Int
        var simulatedSeconds: Double
    }

    /// Finds or builds the example. Throws a one-line error that says what to install.
    static func prepare() throws -> SimGridReference {
        var base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        if base.isEmpty { base = "/tmp" }
        let cache = base + "/potluck-simgrid"
        let files = FileManager.default
        guard files.fileExists(atPath: "/usr/include/simgrid/s4u.hpp") else {
            throw BenchError("SimGrid is not installed: apt-get install -y libsimgrid-dev (Debian's SimGrid 3.32)")
        }
        for (tool, package) in [("/usr/bin/time", "time"), ("/usr/bin/g++", "g++"), ("/usr/bin/xz", "xz-utils")]
        where !files.isExecutableFile(atPath: tool) {
            throw BenchError("\(tool) is missing: apt-get install -y \(package)")
        }
        try files.createDirectory(atPath: cache, withIntermediateDirectories: true)
        let reference = SimGridReference(
            binary: cache + "/s4u-dht-kademlia", exampleDirectory: cache + "/simgrid-3.32/examples/cpp/dht-kademlia",
            platformTemplate: cache + "/simgrid-3.32/examples/platforms/cluster_backbone.xml", cache: cache)
        if !files.fileExists(atPath: reference.exampleDirectory + "/generate.py") || !files.fileExists(atPath: reference.platformTemplate) {
            try reference.fetchSource()
        }
        if !files.isExecutableFile(atPath: reference.binary) { try reference.compile() }
        return reference
    }

    /// `apt-get source --download-only simgrid` into the cache (enabling Debian's deb-src for
    /// bookworm main first when none is configured and we are root), then unpacks the example.
    private func fetchSource() throws {
        func tarball() -> String? {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []
            return names.first { $0.hasPrefix("simgrid_3.32") && $0.hasSuffix(".orig.tar.xz") }.map { cache + "/" + $0 }
        }
        let install = "apt-get install -y dpkg-dev, and add 'deb-src http://deb.debian.org/debian bookworm main' to the apt sources"
        if tarball() == nil {
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/apt-get") else {
                throw BenchError("cannot fetch SimGrid's source: no apt-get; put simgrid_3.32.orig.tar.xz in \(cache)")
            }
            var fetched = try run("/usr/bin/apt-get", ["source", "--download-only", "simgrid"], in: cache, timeout: 600)
            if fetched != 0, geteuid() == 0, !Self.debSourcesConfigured() {
                try Self.debSourceStanza.write(toFile: Self.debSourceFile, atomically: true, encoding: .utf8)
                _ = try run("/usr/bin/apt-get", ["update", "-qq"], in: cache, timeout: 600)
                fetched = try run("/usr/bin/apt-get", ["source", "--download-only", "simgrid"], in: cache, timeout: 600)
            }
            guard fetched == 0, tarball() != nil else { throw BenchError("cannot fetch SimGrid's source (apt-get source simgrid): \(install)") }
        }
        guard let archive = tarball(),
              try run("/bin/tar", ["-xJf", archive, "--wildcards", "*/examples/cpp/dht-kademlia/*",
                                   "*/examples/platforms/cluster_backbone.xml"], in: cache, timeout: 300) == 0 else {
            throw BenchError("cannot unpack SimGrid's Kademlia example from the source in \(cache)")
        }
    }

    private static let debSourceFile = "/etc/apt/sources.list.d/potluck-deb-src.sources"
    private static let debSourceStanza = """
        # Added by potluck-bench sim-vs-simgrid: the source of Debian's simgrid package.
        Types: deb-src
        URIs: http://deb.debian.org/debian
        Suites: bookworm
        Components: main
        Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

        """

    private static func debSourcesConfigured() -> Bool {
        let directory = "/etc/apt/sources.list.d"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let paths = ["/etc/apt/sources.list"] + names.map { directory + "/" + $0 }
        return paths.contains { path in
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return false }
            return text.split(separator: "\n").contains { line in
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                return trimmed.hasPrefix("deb-src ") || (trimmed.hasPrefix("Types:") && trimmed.contains("deb-src"))
            }
        }
    }

    /// Compiles the example's `.cpp` files against the installed libsimgrid.
    private func compile() throws {
        let sources = ((try? FileManager.default.contentsOfDirectory(atPath: exampleDirectory)) ?? [])
            .filter { $0.hasSuffix(".cpp") }.sorted().map { exampleDirectory + "/" + $0 }
        guard !sources.isEmpty else { throw BenchError("no .cpp files in \(exampleDirectory)") }
        let arguments = ["-O2", "-std=c++17", "-I", exampleDirectory] + sources + ["-lsimgrid", "-o", binary + ".partial"]
        guard try run("/usr/bin/g++", arguments, in: cache, timeout: 600) == 0 else {
            throw BenchError("cannot compile SimGrid's Kademlia example (g++ … -lsimgrid): apt-get install -y libsimgrid-dev g++")
        }
        try FileManager.default.moveItem(atPath: binary + ".partial", toPath: binary)
    }

    /// Runs the example on `nodes` nodes until `deadline` simulated seconds, killed after
    /// `timeout` wall seconds (then nil).
    func run(nodes: Int, deadline: Int, timeout: Double) throws -> Run? {
        let platform = cache + "/platform-\(nodes).xml", deployment = cache + "/deployment-\(nodes)-\(deadline).xml"
        let template = try String(contentsOfFile: platformTemplate, encoding: .utf8)
        guard template.contains("radical=\"0-99\"") else { throw BenchError("unexpected \(platformTemplate)") }
        try template.replacingOccurrences(of: "radical=\"0-99\"", with: "radical=\"0-\(nodes - 1)\"")
            .write(toFile: platform, atomically: true, encoding: .utf8)
        // generate.py draws ids with Python's random module: seed it so a node count always
        // gets the same deployment.
        let generate = "import random, sys; random.seed(\(nodes)); "
            + "sys.argv = ['generate.py', '\(nodes)', '32', '\(deadline)']; exec(open('\(exampleDirectory)/generate.py').read())"
        guard try run("/usr/bin/env", ["python3", "-c", generate], in: cache, timeout: 120, stdout: deployment) == 0 else {
            throw BenchError("SimGrid's generate.py failed (it needs python3)")
        }
        let log = cache + "/log-\(nodes).txt", timing = cache + "/time-\(nodes).txt"
        // timeout(1) kills its whole process group, so the example dies with /usr/bin/time.
        let start = nowNanoseconds()
        let status = try run("/usr/bin/timeout", ["--signal=KILL", String(Int(timeout)), "/usr/bin/time", "-v", "-o", timing,
                                                  binary, platform, deployment],
                             in: cache, timeout: timeout + 30, stdout: log, stderr: log)
        let seconds = Double(nowNanoseconds() - start) / 1e9
        guard status != Self.timedOut, status != 137 else { return nil }
        guard status == 0 else { throw BenchError("SimGrid's Kademlia example exited with status \(status); see \(log)") }
        return try Self.parse(log: log, timing: timing, wallSeconds: seconds)
    }

    /// Sums the example's last words per node, `X/Y FIND_NODE have succeeded` (X succeeded of
    /// Y random lookups), and reads `/usr/bin/time -v`'s maximum resident set size.
    static func parse(log: String, timing: String, wallSeconds: Double) throws -> Run {
        let text = try String(contentsOfFile: log, encoding: .utf8)
        var result = Run(wallSeconds: wallSeconds, peakMB: .nan, lookupsCompleted: 0, lookupsSucceeded: 0, nodesReporting: 0,
                         simulatedSeconds: .nan)
        for line in text.split(separator: "\n") {
            if let range = line.range(of: " FIND_NODE have succeeded") {
                let fraction = line[..<range.lowerBound].split(separator: " ").last ?? ""
                let parts = fraction.split(separator: "/")
                guard parts.count == 2, let succeeded = Int(parts[0]), let total = Int(parts[1]) else { continue }
                result.lookupsSucceeded += succeeded
                result.lookupsCompleted += total
                result.nodesReporting += 1
            } else if let range = line.range(of: "Simulated time: ") {
                result.simulatedSeconds = Double(line[range.upperBound...].trimmingCharacters(in: .whitespaces)) ?? .nan
            }
        }
        let times = try String(contentsOfFile: timing, encoding: .utf8)
        if let line = times.split(separator: "\n").first(where: { $0.contains("Maximum resident set size (kbytes)") }),
           let kib = Double(line.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "") {
            result.peakMB = kib / 1024
        }
        return result
    }

    static let timedOut: Int32 = -1

    /// Runs a tool with its output in files; kills it after `timeout` seconds (status
    /// ``timedOut``; its own children survive, hence timeout(1) around long runs).
    @discardableResult
    func run(_ executable: String, _ arguments: [String], in directory: String, timeout: Double,
             stdout: String? = nil, stderr: String? = nil) throws -> Int32 {
        try Self.runTool(executable, arguments, in: directory, timeout: timeout, stdout: stdout, stderr: stderr)
    }

    static func runTool(_ executable: String, _ arguments: [String], in directory: String, timeout: Double,
                        stdout: String? = nil, stderr: String? = nil) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        func handle(_ path: String?) throws -> FileHandle {
            guard let path else { return FileHandle.nullDevice }
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            return try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        }
        let out = try handle(stdout)
        process.standardOutput = out
        process.standardError = stderr != nil && stderr == stdout ? out : try handle(stderr)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = nowNanoseconds() + UInt64(timeout * 1e9)
        while process.isRunning {
            if nowNanoseconds() > deadline {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return timedOut
            }
            usleep(20_000)
        }
        return process.terminationStatus
    }
}
