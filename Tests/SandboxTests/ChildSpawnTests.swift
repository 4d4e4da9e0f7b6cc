// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Foundation
import Testing
@testable import Sandbox
#if canImport(Glibc)
import Glibc
#endif

/// `ChildProcess`'s spawn (`CSpawn`): what the child does before it executes, for real.
@Suite(.serialized) struct ChildSpawnTests {
    /// Runs `script` with `/bin/sh` and returns its stdout and wait status.
    static func shell(_ script: String, descriptors: [Int32: Int32] = [:], joining: [String] = [], limits: [ChildProcess.Limit] = [],
                      user: uid_t? = nil) throws -> (String, Int32) {
        let child = try ChildProcess(executable: "/bin/sh", arguments: ["-c", script], temporaryDirectory: NSTemporaryDirectory(),
                                     descriptors: descriptors, newProcessGroup: true, joining: joining, limits: limits, user: user)
        close(child.stdinFD)
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while case let count = read(child.stdoutFD, &buffer, buffer.count), count > 0 { bytes += buffer[0..<count] }
        close(child.stdoutFD)
        close(child.stderrFD)
        return (String(decoding: bytes, as: UTF8.self), child.reap().status)
    }

    /// The value of a `/proc/self/status` field in the text.
    static func field(_ name: String, in text: String) -> String? {
        text.split(separator: "\n").first { $0.hasPrefix(name + ":") }.map { $0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces) }
    }

    @Test func theChildStartsWithDefaultSignalsItsOwnGroupAndTheGivenDescriptors() throws {
        // Ignored here, blocked here: neither may reach the child.
        let previous = signal(SIGUSR2, SIG_IGN)
        defer { signal(SIGUSR2, previous) }
        var blocked = sigset_t(), old = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGUSR1)
        pthread_sigmask(SIG_BLOCK, &blocked, &old)
        defer { pthread_sigmask(SIG_SETMASK, &old, nil) }
        var ends: [Int32] = [-1, -1]
        try #require(pipe(&ends) == 0)
        defer { close(ends[0]) }
        _ = "through 5".withCString { write(ends[1], $0, 9) }
        close(ends[1])
        let (text, status) = try Self.shell("cat /proc/self/status; echo pgid $(cut -d' ' -f5 /proc/$$/stat) pid $$; cat <&5", descriptors: [5: ends[0]])
        #expect(status == 0)
        #expect(Self.field("SigIgn", in: text) == "0000000000000000", "\(text)")
        #expect(Self.field("SigBlk", in: text) == "0000000000000000", "\(text)")
        #expect(text.hasSuffix("through 5"))
        let ids = text.split(separator: "\n").first { $0.hasPrefix("pgid ") }?.split(separator: " ")
        #expect(ids?.count == 4 && ids?[1] == ids?[3], "the child leads its own process group: \(text)")
    }

    @Test func theChildTakesItsLimitsAndGivesUpRoot() throws {
        // A busy node: its free descriptor numbers start above the task's RLIMIT_NOFILE.
        let busy = (0..<100).map { _ in open("/dev/null", O_RDONLY | O_CLOEXEC) }
        defer { busy.forEach { close($0) } }
        let limits = [ChildProcess.Limit(resource: Int32(RLIMIT_NOFILE.rawValue), soft: 77, hard: 78),
                      ChildProcess.Limit(resource: Int32(RLIMIT_CORE.rawValue), soft: 0, hard: 0)]
        let root = geteuid() == 0
        let (text, status) = try Self.shell("ulimit -n; ulimit -H -n; ulimit -c; cat /proc/self/status", limits: limits, user: root ? 65534 : nil)
        #expect(status == 0)
        #expect(text.hasPrefix("77\n78\n0\n"), "\(text)")
        if root {
            #expect(Self.field("Uid", in: text)?.split(whereSeparator: \.isWhitespace) == ["65534", "65534", "65534", "65534"], "\(text)")
            #expect(Self.field("Gid", in: text)?.split(whereSeparator: \.isWhitespace) == ["65534", "65534", "65534", "65534"], "\(text)")
            #expect(Self.field("Groups", in: text) == "", "\(text)")
            for set in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
                #expect(Self.field(set, in: text) == "0000000000000000", "\(set): \(text)")
            }
        }
    }

    @Test func aStepThatFailsIsSaidInASentence() throws {
        #expect {
            _ = try Self.shell("true", joining: ["/nonexistent/potluck/tasks"])
        } throws: { error in
            (error as? SandboxError)?.message == "cannot join the task's cgroup: No such file or directory"
        }
        #expect {
            _ = try ChildProcess(executable: "/nonexistent/potluck-tool", temporaryDirectory: NSTemporaryDirectory())
        } throws: { error in
            (error as? SandboxError)?.message == "cannot start /nonexistent/potluck-tool: No such file or directory"
        }
        // A limit above the hard limit is refused to a process without the privilege to raise it.
        if geteuid() != 0 {
            #expect(throws: SandboxError.self) {
                _ = try Self.shell("true", limits: [ChildProcess.Limit(resource: Int32(RLIMIT_NOFILE.rawValue), soft: 1 << 40, hard: 1 << 40)])
            }
        }
    }
}
