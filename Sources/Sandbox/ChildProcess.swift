// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import CSpawn
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A spawned sandbox process (`potluck-sandbox`, or bubblewrap for a native task): its pid and
/// the parent's ends of its stdin, stdout and stderr.
///
/// `kill()` may be called from any thread until the process is reaped, and never after, so a
/// recycled pid is never signalled: `reap()` marks the process reaped under the same lock
/// before collecting it.
final class ChildProcess: Sendable {
    let pid: pid_t
    let stdinFD: Int32
    let stdoutFD: Int32
    let stderrFD: Int32
    /// Whether the child leads a process group of its own, which `kill()` signals whole.
    let leadsProcessGroup: Bool
    private let state = Mutex<(reaped: Bool, killed: Bool)>((false, false))

    /// One resource limit the child sets before it executes (`RLIMIT_*`).
    struct Limit: Equatable {
        var resource: Int32
        var soft: UInt64
        var hard: UInt64
    }

    /// Spawns `executable` with an empty environment except `TMPDIR=temporaryDirectory`, its stdio on three
    /// close-on-exec Unix socket pairs (created close-on-exec atomically, so a child spawned
    /// concurrently by another thread never inherits them; and the parent writes with
    /// `MSG_NOSIGNAL`, so a dead child cannot raise SIGPIPE in it), every signal at its default
    /// disposition and none blocked.
    ///
    /// `environment` replaces that environment when given; `descriptors` maps a descriptor
    /// number in the child to one of the parent's (which stays open in the parent); with
    /// `newProcessGroup` the child leads a new process group. Before it executes, the child
    /// writes itself to each cgroup `tasks` file of `joining`, then (after its descriptors) sets `limits`, and with `user`
    /// (the caller being root) becomes that user with no groups and no capabilities
    /// (`CSpawn`, `spec/0019-native-jobs.md` §2).
    init(executable: String, arguments: [String] = [], temporaryDirectory: String, environment: [String]? = nil,
         descriptors: [Int32: Int32] = [:], newProcessGroup: Bool = false, joining: [String] = [], limits: [Limit] = [],
         user: uid_t? = nil) throws(SandboxError) {
        var pipes: [[Int32]] = []
        for _ in 0..<3 {
            var ends: [Int32] = [-1, -1]
            #if canImport(Glibc)
            let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
            #else
            let type = SOCK_STREAM
            #endif
            guard socketpair(AF_UNIX, type, 0, &ends) == 0 else {
                for pair in pipes { pair.forEach { close($0) } }
                throw SandboxError(.hostFailure, "cannot create a pipe: \(ScratchDirectory.lastError())")
            }
            pipes.append(ends)
        }
        let mapped: [(child: Int32, parent: Int32)] = [(0, pipes[0][0]), (1, pipes[1][1]), (2, pipes[2][1])]
            + descriptors.sorted { $0.key < $1.key }.map { (child: $0.key, parent: $0.value) }
        let pairs = mapped.flatMap { [$0.child, $0.parent] }
        let limitValues = limits.map { potluck_spawn_limit(resource: $0.resource, soft: $0.soft, hard: $0.hard) }
        let environment = environment ?? ["TMPDIR=\(temporaryDirectory)"]
        var pid: pid_t = 0
        var failedStep: Int32 = 0
        let status = withCStrings([executable] + arguments) { argv in
            withCStrings(environment) { envp in
                withCStrings(joining) { join in
                    pairs.withUnsafeBufferPointer { pairs in
                        limitValues.withUnsafeBufferPointer { limitValues in
                            var request = potluck_spawn_request()
                            request.path = UnsafePointer(argv[0])
                            request.descriptors = pairs.baseAddress
                            request.descriptor_count = Int32(mapped.count)
                            request.limits = limitValues.baseAddress
                            request.limit_count = Int32(limitValues.count)
                            request.join_count = Int32(joining.count)
                            request.user = user.map { Int32(bitPattern: $0) } ?? -1
                            request.new_process_group = newProcessGroup ? 1 : 0
                            let result = argv.withUnsafeBufferPointer { argv in
                                envp.withUnsafeBufferPointer { envp in
                                    join.withUnsafeBufferPointer { join in
                                        request.argv = argv.baseAddress
                                        request.envp = envp.baseAddress
                                        request.join = join.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: UnsafePointer<CChar>?.self) }
                                        return potluck_spawn(&request, &pid)
                                    }
                                }
                            }
                            failedStep = request.failed_step
                            return result
                        }
                    }
                }
            }
        }
        close(pipes[0][0])
        close(pipes[1][1])
        close(pipes[2][1])
        guard status == 0 else {
            [pipes[0][1], pipes[1][0], pipes[2][0]].forEach { close($0) }
            throw SandboxError(.hostFailure, Self.explain(step: failedStep, errno: status, executable: executable, user: user))
        }
        self.pid = pid
        leadsProcessGroup = newProcessGroup
        stdinFD = pipes[0][1]
        stdoutFD = pipes[1][0]
        stderrFD = pipes[2][0]
    }

    /// What a failed spawn could not do, in a sentence.
    static func explain(step: Int32, errno code: Int32, executable: String, user: uid_t?) -> String {
        let reason = String(cString: strerror(code))
        switch UInt32(step) {
        case POTLUCK_SPAWN_JOIN.rawValue: return "cannot join the task's cgroup: \(reason)"
        case POTLUCK_SPAWN_LIMITS.rawValue: return "cannot set the task's resource limits: \(reason)"
        case POTLUCK_SPAWN_USER.rawValue: return "cannot switch to user \(user.map(String.init) ?? "?"): \(reason)"
        default: return "cannot start \(executable): \(reason)"
        }
    }

    /// Sends SIGKILL unless the process was already reaped. Returns whether it was sent.
    @discardableResult
    func kill() -> Bool {
        state.withLock { state in
            guard !state.reaped else { return false }
            state.killed = true
            return Glibc.kill(leadsProcessGroup ? -pid : pid, SIGKILL) == 0
        }
    }

    /// Sends `signal` (SIGSTOP or SIGCONT, to pause a guest) to the process, or its group,
    /// unless it was already reaped. Returns whether it was sent.
    @discardableResult
    func send(_ signal: Int32) -> Bool {
        state.withLock { state in
            !state.reaped && Glibc.kill(leadsProcessGroup ? -pid : pid, signal) == 0
        }
    }

    /// Whether `kill()` signalled the process.
    var wasKilled: Bool { state.withLock { $0.killed } }

    /// Waits for the process to exit, then reaps it: its wait status, CPU milliseconds and
    /// largest resident set (of it and every descendant it waited for), in bytes.
    func reap() -> (status: Int32, cpuMilliseconds: Int64, peakResidentBytes: Int64) {
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0, errno == EINTR {}
        state.withLock { $0.reaped = true }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0, errno == EINTR {}
        return (status, UsageClock.milliseconds(usage.ru_utime) + UsageClock.milliseconds(usage.ru_stime), Int64(usage.ru_maxrss) * 1024)
    }
}

/// Calls `body` with a NULL-terminated C array of the strings.
func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return body(pointers)
}

/// The child of one run, as cancellation sees it: `cancel()` may come before the child is
/// spawned (then it is killed as soon as it is `attach`ed) or while it runs.
final class CancellableChild: Sendable {
    private let state = Mutex<(child: ChildProcess?, cancelled: Bool)>((nil, false))

    /// Kills the child now, or as soon as it is attached.
    func cancel() {
        state.withLock { state -> ChildProcess? in
            state.cancelled = true
            return state.child
        }?.kill()
    }

    /// Records the spawned child, killing it at once if the run was already cancelled.
    func attach(_ child: ChildProcess) {
        if state.withLock({ state -> Bool in
            state.child = child
            return state.cancelled
        }) { child.kill() }
    }

    /// Whether `cancel()` was called.
    var isCancelled: Bool { state.withLock { $0.cancelled } }
}
