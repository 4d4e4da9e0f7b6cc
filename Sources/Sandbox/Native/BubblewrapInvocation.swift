// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
#if canImport(Glibc)
import Glibc
#endif

/// The command line that runs one native task under bubblewrap (spec 0019 §2): pure, so the
/// sandbox's whole contract can be read — and tested — in one place.
///
/// The node starts `bwrap … -- [prlimit --nproc=N --] TOOL ARGS…` through `ChildProcess`,
/// whose child first joins the task's cgroups, sets ``limits(for:)`` and, when the node runs as
/// root, becomes `unprivilegedID` with no groups and no capabilities, so the task is never the
/// host's root, not even inside its namespaces;
/// - `bwrap` unshares every namespace (user, pid, network, ipc, uts, cgroup), shows only
///   read-only system paths, the task's read-only inputs, its writable `/job` and a private
///   `/tmp` on a read-only root, clears the environment, drops every capability, forbids new user namespaces and
///   installs the seccomp filter (`SeccompFilter`) from descriptor `seccompDescriptor`;
/// - `prlimit` sets `RLIMIT_NPROC` inside the sandbox, where it counts only the task's
///   processes — only when no `pids` cgroup counts them already (``processesCounted``).
public struct BubblewrapInvocation: Sendable, Hashable {
    /// Host programs the chain is made of.
    public struct Programs: Sendable, Hashable {
        public var bwrap: String
        public var prlimit: String
        public init(bwrap: String = "/usr/bin/bwrap", prlimit: String = "/usr/bin/prlimit") {
            self.bwrap = bwrap
            self.prlimit = prlimit
        }
    }

    /// Per-process and per-sandbox limits beyond the task's own.
    public struct HostLimits: Sendable, Hashable {
        /// Processes and threads the task may have at once (`RLIMIT_NPROC`).
        public var processes: Int = 256
        /// Open files per process (`RLIMIT_NOFILE`).
        public var openFiles: Int = 1024
        /// Size of the private `/tmp` (a tmpfs, so it counts as memory).
        public var temporaryBytes: Int64 = 256 << 20
        public init() {}
    }

    /// The user the task runs as when the node is root (`nobody`).
    public static let unprivilegedID = 65534
    /// The descriptor the seccomp program is read from.
    public static let seccompDescriptor: Int32 = 3
    /// The environment the tool sees, and nothing else.
    public static let environment: [(String, String)] = [
        ("HOME", "/tmp"), ("PATH", "/usr/bin:/bin"), ("LANG", "C.UTF-8"), ("TMPDIR", "/tmp"),
    ]
    /// Top-level system paths shown read-only (or as the same symbolic link), when present.
    public static let systemPaths = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]
    /// The few entries of `/etc` tools need: the dynamic linker's cache, Debian's alternatives
    /// (`/usr/bin/convert` links there), fonts, ImageMagick's policy, the time zone. Never all
    /// of `/etc`: a node run as root would show `/etc/shadow`.
    public static let etcPaths = [
        "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/fonts",
        "/etc/ImageMagick-6", "/etc/ImageMagick-7", "/etc/localtime", "/etc/mime.types",
    ]

    public var programs = Programs()
    public var hostLimits = HostLimits()
    /// Whether the node runs as root (then the task runs as `unprivilegedID`: ``user``).
    public var asRoot: Bool
    /// Whether a `pids` cgroup counts the task's processes; if not, `prlimit` sets
    /// `RLIMIT_NPROC` inside the sandbox.
    public var processesCounted = false
    /// How each system path looks on this host: a directory, a symbolic link (its target), or absent.
    public var systemLayout: [String: SystemEntry]
    /// The tool's resolved path on the host; its directory is shown read-only when outside `/usr`.
    public var toolPath: String
    /// The task's writable directory on the host (becomes `/job`).
    public var jobDirectory: String
    /// The directory holding the task's input files on the host (becomes `/job/in`, read-only).
    public var inputDirectory: String

    /// How a top-level path exists on the host.
    public enum SystemEntry: Sendable, Hashable {
        case directory
        case symbolicLink(String)
    }

    public init(asRoot: Bool, systemLayout: [String: SystemEntry], toolPath: String, jobDirectory: String, inputDirectory: String) {
        self.asRoot = asRoot
        self.systemLayout = systemLayout
        self.toolPath = toolPath
        self.jobDirectory = jobDirectory
        self.inputDirectory = inputDirectory
    }

    /// `argv` for `task`, `argv[0]` being the program to spawn.
    public func arguments(for task: NativeTask) -> [String] {
        var argv: [String] = []
        // `--as-pid-1`: the tool itself is the namespace's first process, so the outer bwrap
        // reaps it and its CPU time reaches the node's `wait4` (bwrap's own init would exit
        // unreaped, its children's time lost). Everything left in the namespace dies with it.
        argv += [programs.bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--cap-drop", "ALL", "--as-pid-1",
                 "--die-with-parent", "--new-session", "--hostname", "potluck", "--clearenv"]
        for (name, value) in Self.environment { argv += ["--setenv", name, value] }
        for path in Self.systemPaths {
            switch systemLayout[path] {
            case .directory?: argv += ["--ro-bind", path, path]
            case .symbolicLink(let target)?: argv += ["--symlink", target, path]
            case nil: break
            }
        }
        for path in Self.etcPaths { argv += ["--ro-bind-try", path, path] }
        argv += ["--proc", "/proc", "--dev", "/dev", "--size", String(hostLimits.temporaryBytes), "--tmpfs", "/tmp"]
        // After the tmpfs: a tool lent from under /tmp would be hidden by it.
        let toolDirectory = Self.directory(of: toolPath)
        if !toolDirectory.hasPrefix("/usr/") {
            argv += ["--ro-bind", toolDirectory, toolDirectory]
        }
        argv += ["--bind", jobDirectory, "/job", "--ro-bind", inputDirectory, "/job/in", "--remount-ro", "/", "--chdir", "/job",
                 "--seccomp", String(Self.seccompDescriptor), "--"]
        if !processesCounted {
            argv += [programs.prlimit, "--nproc=\(hostLimits.processes)", "--"]
        }
        argv += [toolPath] + task.arguments
        return argv
    }

    /// The user the sandbox's first process becomes before it executes bwrap.
    public var user: uid_t? { asRoot ? uid_t(Self.unprivilegedID) : nil }

    /// The rlimits set before bwrap executes, inherited by every process of the task: CPU
    /// seconds (soft = the budget rounded up, hard one more: as the namespace's first process
    /// the tool ignores SIGXCPU and meets SIGKILL), data segment per process = the task's
    /// memory, file size = the disk budget, open files, no core dumps. Not `RLIMIT_NPROC`:
    /// set outside the sandbox it would count every process of the user (see ``processesCounted``).
    func limits(for task: NativeTask) -> [ChildProcess.Limit] {
        let cpu = UInt64(task.limits.coreSeconds.rounded(.up))
        return [
            .init(resource: Int32(RLIMIT_CPU.rawValue), soft: cpu, hard: cpu + 1),
            .init(resource: Int32(RLIMIT_DATA.rawValue), soft: UInt64(task.limits.memoryBytes), hard: UInt64(task.limits.memoryBytes)),
            .init(resource: Int32(RLIMIT_FSIZE.rawValue), soft: UInt64(task.diskBytes), hard: UInt64(task.diskBytes)),
            .init(resource: Int32(RLIMIT_NOFILE.rawValue), soft: UInt64(hostLimits.openFiles), hard: UInt64(hostLimits.openFiles)),
            .init(resource: Int32(RLIMIT_CORE.rawValue), soft: 0, hard: 0),
        ]
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }
}
