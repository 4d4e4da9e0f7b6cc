// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
#if canImport(Glibc)
import Glibc
#endif

/// Drives one native task on a dedicated thread: lays out its directory, spawns the sandbox,
/// pumps its output, kills it at the deadline, on a broken limit or on cancellation, reaps it,
/// collects its outputs and removes every trace of it.
final class NativeSupervisor: Sendable {
    private let runner: NativeRunner
    private let task: NativeTask
    private let tool: LentTool
    private let inputs: [String: String]
    private let progress: @Sendable (GuestProgress) -> Void
    /// Leave the output files on disk (`KeptOutputs`) instead of reading them into the outcome.
    private let keepOutputs: Bool
    /// The cores the task was given: its CPU quota where a cgroup is available.
    private let cores: Int?
    private let slot = CancellableChild()
    private let pause: GuestPause

    init(runner: NativeRunner, task: NativeTask, tool: LentTool, inputs: [String: String], cores: Int?, keepOutputs: Bool,
         pause: GuestPause, progress: @escaping @Sendable (GuestProgress) -> Void) {
        self.pause = pause
        self.runner = runner
        self.task = task
        self.tool = tool
        self.inputs = inputs
        self.cores = cores
        self.keepOutputs = keepOutputs
        self.progress = progress
    }

    func cancel() {
        pause.finish()
        slot.cancel()
    }

    /// Runs the task; with `keepOutputs`, its output files stay on disk in the returned
    /// `KeptOutputs` (whose owner removes them), else they are in the outcome.
    func run() -> (GuestOutcome, KeptOutputs) {
        let started = UsageClock.monotonicNanoseconds()
        do { try task.validate() } catch { return (GuestOutcome(termination: .sandboxFailure("invalid task: \(error.message)")), .none) }
        guard tool.name == task.tool else {
            return (GuestOutcome(termination: .sandboxFailure("the task asks for '\(task.tool)', not '\(tool.name)'")), .none)
        }
        if let missing = task.inputs.keys.sorted().first(where: { inputs[$0] == nil }) {
            return (GuestOutcome(termination: .sandboxFailure("the input '\(missing)' is not on this machine")), .none)
        }
        let directory: TaskDirectory
        do { directory = try TaskDirectory(root: runner.temporaryRoot, inputs: inputs, owner: geteuid() == 0 ? uid_t(BubblewrapInvocation.unprivilegedID) : nil) } catch {
            return (GuestOutcome(termination: .sandboxFailure(error.message)), .none)
        }
        var kept = KeptOutputs.none
        defer { if kept.root.isEmpty { directory.remove() } }
        let outcome = run(in: directory, started: started, kept: &kept)
        return (outcome, kept)
    }

    private func run(in directory: TaskDirectory, started: UInt64, kept: inout KeptOutputs) -> GuestOutcome {
        var invocation = BubblewrapInvocation(asRoot: geteuid() == 0, systemLayout: Self.systemLayout(), toolPath: tool.path,
                                              jobDirectory: directory.job, inputDirectory: directory.inputs)
        invocation.programs = runner.programs
        invocation.hostLimits = runner.hostLimits
        // The whole tree's memory (with the private /tmp), CPU and processes, where cgroups allow.
        let group = runner.useCgroups ? TaskCgroup(name: Self.baseName(directory.root), limits: TaskCgroup.Limits(
            memoryBytes: task.limits.memoryBytes + runner.hostLimits.temporaryBytes, cores: cores, processes: runner.hostLimits.processes)) : nil
        defer { group?.remove() }
        invocation.processesCounted = group?.directory(of: .pids) != nil
        let argv = invocation.arguments(for: task)

        let filter: [UInt8]
        do { filter = try SeccompFilter.program() } catch { return GuestOutcome(termination: .sandboxFailure(error.message)) }
        var filterPipe: [Int32] = [-1, -1]
        // Close-on-exec from birth (a concurrent spawn must not inherit it); the child gets a dup.
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &filterPipe) == 0 else {
            return GuestOutcome(termination: .sandboxFailure("cannot create a pipe: \(ScratchDirectory.lastError())"))
        }
        _ = filter.withUnsafeBytes { write(filterPipe[1], $0.baseAddress!, $0.count) }  // a few hundred bytes: fits the buffer
        close(filterPipe[1])
        defer { close(filterPipe[0]) }

        let child: ChildProcess
        do {
            child = try ChildProcess(executable: argv[0], arguments: Array(argv.dropFirst()), temporaryDirectory: directory.root,
                                     environment: [], descriptors: [BubblewrapInvocation.seccompDescriptor: filterPipe[0]],
                                     newProcessGroup: true, joining: group?.joinFiles ?? [], limits: invocation.limits(for: task),
                                     user: invocation.user)
        } catch {
            return GuestOutcome(termination: .sandboxFailure(error.message))
        }
        slot.attach(child)
        // The task's tree lives in its own session inside bubblewrap, out of reach of a signal
        // to the sandbox's process group: only its cgroup stops it whole (spec 0019 §2.7).
        if let group { pause.attach { stop in group.freeze(stop) } } else { pause.attach { _ in false } }
        let deadline = started + UInt64(task.limits.wallSeconds * 1e9)
        var session = NativeSession(child: child, deadline: deadline, pause: pause, task: task, jobDirectory: directory.job, progress: progress)
        session.pump()
        pause.finish()
        let (status, cpu, peak) = child.reap()
        let wall = Int64((UsageClock.monotonicNanoseconds() - started - pause.pausedNanoseconds()) / 1_000_000)
        var outcome = GuestOutcome(termination: .exited(0), stdout: session.stdout, stderr: session.stderr,
                                   cpuMilliseconds: cpu, wallMilliseconds: wall, peakMemoryBytes: peak)
        let memoryKilled = (group?.memoryKills ?? 0) > 0
        outcome.termination = decide(status: status, session: session, cpuMilliseconds: cpu, memoryKilled: memoryKilled, cancelled: slot.isCancelled)
        if outcome.termination == .memoryLimit {
            let limit = (task.limits.memoryBytes + runner.hostLimits.temporaryBytes) >> 20
            outcome.stderr += Array("potluck: the task's processes together (with its /tmp) passed its memory limit of \(limit) MiB; the kernel killed one\n".utf8)
        }
        if case .exited = outcome.termination, keepOutputs {
            // On disk, bounded by the task's disk limit, which the session enforced.
            kept = directory.keep()
        } else if case .exited = outcome.termination {
            do {
                outcome.outputFiles = try directory.outputs(budget: OutputBudget(bytes: task.limits.outputBytes - session.outputUsed))
            } catch {
                outcome.termination = .outputLimit
                outcome.stderr += Array("potluck: the task's output files passed its output limit of \(task.limits.outputBytes) bytes; none were kept\n".utf8)
            }
        }
        if let sentence = session.explanation(task: task) { outcome.stderr += Array((sentence + "\n").utf8) }
        return outcome
    }

    private func decide(status: Int32, session: NativeSession, cpuMilliseconds: Int64, memoryKilled: Bool, cancelled: Bool) -> GuestTermination {
        switch session.kill {
        case .deadline?: return .deadline
        case .output?, .disk?: return .outputLimit
        case nil: break
        }
        if memoryKilled { return .memoryLimit }
        if cancelled { return .sandboxFailure(ChildSupervisor.cancelledReason) }
        let exited = status & 0x7f == 0
        guard exited else { return .sandboxFailure("the sandbox died of signal \(status & 0x7f)") }
        let code = Int32((status >> 8) & 0xff)
        if code != 0, let line = Self.firstLine(session.stderr),
           ["bwrap:", "prlimit:"].contains(where: { line.hasPrefix($0) }) {
            return .sandboxFailure(line)
        }
        // 128 + SIGXCPU or SIGKILL after the CPU budget: the kernel's RLIMIT_CPU ended it.
        if code == 128 + SIGXCPU || (code == 128 + SIGKILL && Double(cpuMilliseconds) >= task.limits.coreSeconds * 1000) {
            return .outOfFuel
        }
        return .exited(code)
    }

    static func baseName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? "potluck-native"
    }

    private static func firstLine(_ bytes: [UInt8]) -> String? {
        String(decoding: bytes.prefix(1000), as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init)
    }

    /// How each of `BubblewrapInvocation.systemPaths` exists on this host.
    static func systemLayout() -> [String: BubblewrapInvocation.SystemEntry] {
        var layout: [String: BubblewrapInvocation.SystemEntry] = [:]
        for path in BubblewrapInvocation.systemPaths {
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            if info.st_mode & S_IFMT == S_IFLNK {
                var target = [CChar](repeating: 0, count: 4096)
                let count = readlink(path, &target, target.count - 1)
                if count > 0 { layout[path] = .symbolicLink(String(cString: target)) }
            } else if info.st_mode & S_IFMT == S_IFDIR {
                layout[path] = .directory
            }
        }
        return layout
    }
}
