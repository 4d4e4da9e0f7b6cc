// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import PotluckCrypto
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import Sandbox

/// The native task's encoding (spec 0019 §3) and the sandbox's command line (§2), pure.
@Suite struct NativeTaskTests {
    static let task = NativeTask(tool: "convert", arguments: ["/job/in/a.jpg", "-resize", "50%", "/job/out/a.jpg"],
                                 inputs: ["a.jpg": Blake2b.hash256(Array("photo".utf8))],
                                 limits: JobLimits(coreSeconds: 60, memoryBytes: 1 << 30, wallSeconds: 120, outputBytes: 64 << 20),
                                 diskBytes: 256 << 20)

    @Test func theEncodingIsCanonicalAndRoundTrips() throws {
        let bytes = Self.task.encoded()
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("d4:argsl13:/job/in/a.jpg7:-resize3:50%14:/job/out/a.jpge4:diski268435456e6:inputsd5:a.jpg32:"))
        #expect(text.hasSuffix("6:limitsd7:core_msi60000e6:memoryi1073741824e6:outputi67108864e7:wall_msi120000ee4:tool7:convert1:vi1ee"))
        #expect(try NativeTask(encoded: bytes) == Self.task)
        #expect(Self.task.digest == Blake2b.hash256(bytes))
    }

    @Test(arguments: [
        ("d1:vi2ee", "task.v"),
        ("d4:argsle4:diski1048576e6:inputsde6:limitsd7:core_msi1e6:memoryi65536e6:outputi0e7:wall_msi1ee4:tool2:..1:vi1ee", "tool name"),
        ("d4:argsle4:diski1048576e6:inputsd2:..32:0123456789abcdef0123456789abcdefe6:limitsd7:core_msi1e6:memoryi65536e6:outputi0e7:wall_msi1ee4:tool2:sh1:vi1ee", ".."),
        ("d4:argsle4:diski1048576e6:inputsd1:a3:abce6:limitsd7:core_msi1e6:memoryi65536e6:outputi0e7:wall_msi1ee4:tool2:sh1:vi1ee", "32-byte digest"),
        ("d4:argsle4:diski1e6:inputsde6:limitsd7:core_msi1e6:memoryi65536e6:outputi0e7:wall_msi1ee4:tool2:sh1:vi1ee", "disk limit"),
        ("d4:argsle4:diski1048576e6:inputsde6:limitsd7:core_msi1e6:memoryi65536e6:outputi0e7:wall_msi1ee4:tool2:sh1:vi1e1:xi0ee", "unknown key"),
    ])
    func badTasksAreRefusedWithAReason(encoding: String, reason: String) {
        #expect {
            _ = try NativeTask(encoded: Array(encoding.utf8))
        } throws: { error in
            (error as? SandboxError)?.message.contains(reason) == true
        }
    }

    @Test func theSandboxShowsOnlyWhatItMust() throws {
        let layout: [String: BubblewrapInvocation.SystemEntry] = ["/usr": .directory, "/bin": .symbolicLink("usr/bin"), "/lib": .symbolicLink("usr/lib")]
        let asUser = BubblewrapInvocation(asRoot: false, systemLayout: layout, toolPath: "/usr/bin/convert-im6.q16",
                                          jobDirectory: "/tmp/t/job", inputDirectory: "/tmp/t/in").arguments(for: Self.task)
        #expect(asUser.first == "/usr/bin/bwrap")
        for flag in ["--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session", "--clearenv", "--as-pid-1"] {
            #expect(asUser.contains(flag), "\(flag)")
        }
        #expect(Self.pairs(asUser, "--ro-bind").contains(["/usr", "/usr"]))
        #expect(Self.pairs(asUser, "--symlink").contains(["usr/bin", "/bin"]))
        #expect(Self.pairs(asUser, "--bind") == [["/tmp/t/job", "/job"]], "the only writable bind")
        #expect(Self.pairs(asUser, "--ro-bind").contains(["/tmp/t/in", "/job/in"]))
        let shown = Self.pairs(asUser, "--ro-bind").map { $0[0] } + Self.pairs(asUser, "--ro-bind-try").map { $0[0] }
        #expect(!shown.contains { $0 == "/etc" || $0 == "/" || $0.hasPrefix("/home") || $0.hasPrefix("/root") || $0.hasPrefix("/var") })
        #expect(asUser.contains("--seccomp") && asUser[asUser.firstIndex(of: "--seccomp")! + 1] == "3")
        let tail = Array(asUser.drop { $0 != "/usr/bin/prlimit" })
        #expect(tail == ["/usr/bin/prlimit", "--nproc=256", "--", "/usr/bin/convert-im6.q16", "/job/in/a.jpg", "-resize", "50%", "/job/out/a.jpg"],
                "without a pids cgroup, RLIMIT_NPROC is set inside the sandbox")

        var asRoot = BubblewrapInvocation(asRoot: true, systemLayout: layout, toolPath: "/opt/blender/blender", jobDirectory: "/j", inputDirectory: "/i")
        asRoot.processesCounted = true
        let rootArguments = asRoot.arguments(for: Self.task)
        #expect(rootArguments.first == "/usr/bin/bwrap" && asRoot.user == 65534 && !rootArguments.contains("/usr/bin/prlimit"))
        #expect(Array(rootArguments.suffix(8)) == ["--seccomp", "3", "--", "/opt/blender/blender", "/job/in/a.jpg", "-resize", "50%", "/job/out/a.jpg"],
                "with a pids cgroup, bwrap executes the tool itself")
        #expect(Self.pairs(rootArguments, "--ro-bind").contains(["/opt/blender", "/opt/blender"]), "a tool outside /usr brings its directory, read-only")
        let fromTmp = BubblewrapInvocation(asRoot: true, systemLayout: layout, toolPath: "/tmp/tools/sh", jobDirectory: "/j", inputDirectory: "/i")
            .arguments(for: Self.task)
        let tmpfs = try #require(fromTmp.firstIndex(of: "--tmpfs")), tool = try #require(fromTmp.firstIndex(of: "/tmp/tools"))
        #expect(tmpfs < tool, "a tool lent from under /tmp is bound after the tmpfs that would hide it")
        let limits = asRoot.limits(for: Self.task).map { [Int($0.resource), Int($0.soft), Int($0.hard)] }
        #expect(limits == [[Int(RLIMIT_CPU.rawValue), 60, 61], [Int(RLIMIT_DATA.rawValue), 1 << 30, 1 << 30], [Int(RLIMIT_FSIZE.rawValue), 256 << 20, 256 << 20],
                           [Int(RLIMIT_NOFILE.rawValue), 1024, 1024], [Int(RLIMIT_CORE.rawValue), 0, 0]])
    }

    /// The two arguments after each occurrence of `flag`.
    static func pairs(_ argv: [String], _ flag: String) -> [[String]] {
        argv.indices.filter { argv[$0] == flag && $0 + 2 < argv.count }.map { [argv[$0 + 1], argv[$0 + 2]] }
    }
}
