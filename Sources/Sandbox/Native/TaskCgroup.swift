// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
#if canImport(Glibc)
import Glibc
#endif

/// One native task's control group (spec 0019 §2.3): limits on the whole process tree where
/// rlimits only bound each process — memory (with the private `/tmp`, which is memory) and
/// swap together, CPU to the task's cores, and the number of processes. It is made in the
/// node's own cgroup of each cgroup-v1 hierarchy that holds the controller and that the node
/// may write; a controller not available so is simply not used (rlimits still hold).
///
/// The sandbox's first process joins the group before anything else runs (``tasksFiles``),
/// so no child of the task ever starts outside it.
struct TaskCgroup {
    /// The controllers a task's group uses.
    enum Controller: String, CaseIterable {
        case memory, cpu, pids
    }

    /// What the group holds back.
    struct Limits: Equatable {
        var memoryBytes: Int64
        /// CPU time per period, as cores (`nil`: no quota).
        var cores: Int?
        var processes: Int
    }

    /// The group's directory in each hierarchy, by controller (one directory may serve two).
    let directories: [Controller: String]

    /// Makes the group under `bases` (each controller's parent directory) and sets `limits`;
    /// the controllers it could not set are left out. `nil` when none could be used.
    init?(name: String, limits: Limits, bases: [Controller: String] = TaskCgroup.bases()) {
        var directories: [Controller: String] = [:]
        for (controller, base) in bases.sorted(by: { $0.key.rawValue < $1.key.rawValue }) where controller != .cpu || limits.cores != nil {
            let directory = base + "/" + name
            guard mkdir(directory, 0o755) == 0 || errno == EEXIST else { continue }
            if Self.apply(limits, controller: controller, in: directory) {
                directories[controller] = directory
            } else {
                rmdir(directory)
            }
        }
        guard !directories.isEmpty else { return nil }
        self.directories = directories
    }

    /// The `tasks` file of each hierarchy the group is in: the sandbox's first process writes
    /// `0` (itself) to each before it executes anything (`ChildProcess`'s `joining`).
    ///
    /// `tasks`, not `cgroup.procs`: that process is single-threaded, so moving its one thread
    /// moves the process, and a thread moving itself skips the kernel's global threadgroup lock,
    /// whose write side waits for an RCU grace period: 5–20 ms a task through `cgroup.procs`,
    /// 0.35 ms through `tasks` (measured here, Linux 6.18) — most of the sandbox's cost for a short tool.
    var tasksFiles: [String] {
        Set(directories.values).sorted().map { $0 + "/tasks" }
    }

    /// How many times the kernel killed a process of the group for memory.
    var memoryKills: Int {
        guard let directory = directories[.memory], let text = Self.read(directory + "/memory.oom_control") else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("oom_kill ") {
            return Int(line.dropFirst("oom_kill ".count)) ?? 0
        }
        return 0
    }

    /// Kills whatever is left in the group and removes it, waiting (at most 2 s) until the
    /// kernel has let its last process go.
    func remove() {
        for directory in Set(directories.values) {
            for attempt in 0..<200 {
                for pid in Self.read(directory + "/cgroup.procs")?.split(separator: "\n").compactMap({ pid_t($0) }) ?? [] {
                    kill(pid, SIGKILL)
                }
                if rmdir(directory) == 0 || errno == ENOENT { break }
                if attempt < 199 { usleep(10_000) }
            }
        }
    }

    // MARK: - The node's own cgroups

    /// Each controller's directory for the node's own group, from `/proc/self/cgroup` and
    /// `/proc/self/mountinfo`, when it is a cgroup-v1 hierarchy this process may write.
    static func bases(cgroups: String? = read("/proc/self/cgroup"), mounts: String? = read("/proc/self/mountinfo")) -> [Controller: String] {
        var bases: [Controller: String] = [:]
        for (controller, directory) in locate(cgroups: cgroups ?? "", mounts: mounts ?? "") where access(directory, W_OK) == 0 {
            bases[controller] = directory
        }
        return bases
    }

    /// Where each controller's group of this process lies: a `cgroup` mount whose options name
    /// the controller, joined with the path `/proc/self/cgroup` gives for it (less the mount's root).
    static func locate(cgroups: String, mounts: String) -> [Controller: String] {
        var paths: [Controller: String] = [:]
        for line in cgroups.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            for name in parts[1].split(separator: ",") {
                if let controller = Controller(rawValue: String(name)) { paths[controller] = String(parts[2]) }
            }
        }
        var located: [Controller: String] = [:]
        for line in mounts.split(separator: "\n") {
            // ID PARENT MAJOR:MINOR ROOT MOUNTPOINT OPTIONS [OPTIONAL…] - TYPE SOURCE SUPER-OPTIONS
            let fields = line.split(separator: " ")
            guard let dash = fields.firstIndex(of: "-"), dash > 4, fields.count > dash + 3, fields[dash + 1] == "cgroup" else { continue }
            let root = String(fields[3]), mountPoint = String(fields[4])
            for option in fields[dash + 3].split(separator: ",") {
                guard let controller = Controller(rawValue: String(option)), let path = paths[controller] else { continue }
                guard path == root || path.hasPrefix(root == "/" ? "/" : root + "/") else { continue }
                let relative = root == "/" ? path : String(path.dropFirst(root.count))
                located[controller] = relative == "/" || relative.isEmpty ? mountPoint : mountPoint + relative
            }
        }
        return located
    }

    // MARK: - Files

    private static func apply(_ limits: Limits, controller: Controller, in directory: String) -> Bool {
        switch controller {
        case .memory:
            // Swap too, where the kernel accounts it (memsw must not be below the memory limit).
            guard write(String(limits.memoryBytes), to: directory + "/memory.limit_in_bytes") else { return false }
            if access(directory + "/memory.memsw.limit_in_bytes", F_OK) == 0 {
                return write(String(limits.memoryBytes), to: directory + "/memory.memsw.limit_in_bytes")
            }
            return true
        case .cpu:
            guard let cores = limits.cores else { return false }
            let period = 100_000
            return write(String(period), to: directory + "/cpu.cfs_period_us")
                && write(String(period * max(1, cores)), to: directory + "/cpu.cfs_quota_us")
        case .pids:
            return write(String(limits.processes), to: directory + "/pids.max")
        }
    }

    static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func write(_ text: String, to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, $0.count) } == bytes.count
    }
}
