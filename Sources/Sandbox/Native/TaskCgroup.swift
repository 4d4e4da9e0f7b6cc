// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
#if canImport(Glibc)
import Glibc
#endif

/// One native task's control group (spec 0019 §2.3): limits on the whole process tree where
/// rlimits only bound each process — memory (with the private `/tmp`, which is memory) and
/// swap together, CPU to the task's cores, and the number of processes. It is made in each of
/// the node's hierarchies (``CgroupHierarchy``, cgroup v1 or v2); a controller not available
/// is simply not used (rlimits still hold).
///
/// The sandbox's first process joins the group before anything else runs (``joinFiles``), so
/// no child of the task ever starts outside it.
struct TaskCgroup {
    /// The controllers a task's group uses.
    enum Controller: String, CaseIterable, Sendable {
        case memory, cpu, pids
        /// cgroup v1's freezer, which stops a task's whole tree while its lender's owner is at
        /// the machine (`GuestPause`). cgroup v2 freezes any group (`cgroup.freeze`), with no
        /// controller to enable.
        case freezer
    }

    /// What the group holds back.
    struct Limits: Equatable {
        var memoryBytes: Int64
        /// CPU time per period, as cores (`nil`: no quota).
        var cores: Int?
        var processes: Int
    }

    /// The group's directory in each hierarchy, with the controllers set there.
    let directories: [CgroupHierarchy]

    /// Makes the group in each of `hierarchies` and sets `limits`; the controllers it could not
    /// set are left out, and a cgroup-v1 directory with none is removed (a unified one stays:
    /// it still gathers and kills the whole tree). `nil` when no directory is left.
    init?(name: String, limits: Limits, hierarchies: [CgroupHierarchy] = CgroupHierarchy.node.hierarchies) {
        var directories: [CgroupHierarchy] = []
        for hierarchy in hierarchies {
            let directory = hierarchy.directory + "/" + name
            guard mkdir(directory, 0o755) == 0 || errno == EEXIST else { continue }
            let set = hierarchy.controllers.filter { Self.apply(limits, controller: $0, in: directory, unified: hierarchy.unified) }
            if set.isEmpty && !hierarchy.unified {
                rmdir(directory)
            } else {
                directories.append(CgroupHierarchy(directory: directory, unified: hierarchy.unified, controllers: set))
            }
        }
        guard !directories.isEmpty else { return nil }
        self.directories = directories
    }

    /// The group's directory where `controller` is set.
    func directory(of controller: Controller) -> String? {
        directories.first { $0.controllers.contains(controller) }?.directory
    }

    /// The file of each hierarchy the sandbox's first process writes `0` (itself) to before it
    /// executes anything (`ChildProcess`'s `joining`).
    ///
    /// On cgroup v1, `tasks`, not `cgroup.procs`: that process is single-threaded, so moving its
    /// one thread moves the process, and a thread moving itself skips the kernel's global
    /// threadgroup lock, whose write side waits for an RCU grace period: 5–20 ms a task through
    /// `cgroup.procs`, 0.35 ms through `tasks` (measured here, Linux 6.18) — most of the
    /// sandbox's cost for a short tool. cgroup v2 has only `cgroup.procs`.
    var joinFiles: [String] {
        directories.map { $0.directory + ($0.unified ? "/cgroup.procs" : "/tasks") }
    }

    /// Stops (`true`) or continues every process of the group (`spec/0019` §2.7), through v1's
    /// freezer or v2's `cgroup.freeze`; whether a hierarchy could.
    @discardableResult
    func freeze(_ stop: Bool) -> Bool {
        var done = false
        for group in directories {
            if group.unified {
                done = Self.write(stop ? "1" : "0", to: group.directory + "/cgroup.freeze") || done
            } else if group.controllers.contains(.freezer) {
                done = Self.write(stop ? "FROZEN" : "THAWED", to: group.directory + "/freezer.state") || done
            }
        }
        return done
    }

    /// How many times the kernel killed a process of the group for memory.
    var memoryKills: Int {
        guard let memory = directories.first(where: { $0.controllers.contains(.memory) }),
              let text = Self.read(memory.directory + (memory.unified ? "/memory.events" : "/memory.oom_control")) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("oom_kill ") {
            return Int(line.dropFirst("oom_kill ".count)) ?? 0
        }
        return 0
    }

    /// Kills whatever is left in the group (at once through `cgroup.kill` on cgroup v2) and
    /// removes it, waiting (at most 2 s) until the kernel has let its last process go.
    func remove() {
        // A process frozen by v1's freezer cannot die until it is thawed.
        if directories.contains(where: { !$0.unified && $0.controllers.contains(.freezer) }) { freeze(false) }
        for group in directories {
            if group.unified { _ = Self.write("1", to: group.directory + "/cgroup.kill") }
            for attempt in 0..<200 {
                for pid in Self.read(group.directory + "/cgroup.procs")?.split(separator: "\n").compactMap({ pid_t($0) }) ?? [] {
                    kill(pid, SIGKILL)
                }
                if rmdir(group.directory) == 0 || errno == ENOENT { break }
                if attempt < 199 { usleep(10_000) }
            }
        }
    }

    // MARK: - Files

    /// One limit: a file of the group and what is written to it.
    struct Setting: Equatable {
        var file: String
        var value: String
        /// Written only where the kernel has the file (swap is not always accounted).
        var optional = false
    }

    /// The files that set `controller`'s limit, in order (spec 0019 §2.3's table).
    static func settings(_ limits: Limits, controller: Controller, unified: Bool) -> [Setting] {
        let period = 100_000
        switch (controller, unified) {
        case (.memory, false):
            // Swap too, where the kernel accounts it (memsw must not be below the memory limit).
            return [Setting(file: "memory.limit_in_bytes", value: String(limits.memoryBytes)),
                    Setting(file: "memory.memsw.limit_in_bytes", value: String(limits.memoryBytes), optional: true)]
        case (.memory, true):
            return [Setting(file: "memory.max", value: String(limits.memoryBytes)), Setting(file: "memory.swap.max", value: "0", optional: true)]
        case (.cpu, false):
            guard let cores = limits.cores else { return [] }
            return [Setting(file: "cpu.cfs_period_us", value: String(period)), Setting(file: "cpu.cfs_quota_us", value: String(period * max(1, cores)))]
        case (.cpu, true):
            guard let cores = limits.cores else { return [] }
            return [Setting(file: "cpu.max", value: "\(period * max(1, cores)) \(period)")]
        case (.pids, _):
            return [Setting(file: "pids.max", value: String(limits.processes))]
        case (.freezer, _):
            return []
        }
    }

    /// Writes `controller`'s settings in `directory`; `false` when one was refused.
    private static func apply(_ limits: Limits, controller: Controller, in directory: String, unified: Bool) -> Bool {
        if controller == .freezer { return !unified }  // nothing to set: the group is there to be frozen
        let settings = settings(limits, controller: controller, unified: unified)
        return !settings.isEmpty && settings.allSatisfy { setting in
            let path = directory + "/" + setting.file
            return (setting.optional && access(path, F_OK) != 0) || write(setting.value, to: path)
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

    /// Writes `text` to a cgroup file; `false` (with `errno` set) when the kernel refused it.
    static func write(_ text: String, to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, $0.count) }
        let error = errno
        close(fd)
        errno = error
        return written == bytes.count
    }
}
