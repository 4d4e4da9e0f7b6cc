// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Drives one `potluck-sandbox` child on a dedicated thread: feeds it the job, reads its
/// frames, kills it at the deadline or on cancellation, reaps it, and decides the outcome.
final class ChildSupervisor: Sendable {
    static let cancelledReason = "cancelled by the caller; the sandbox child was killed"

    private let job: GuestJob
    private let executable: String
    private let arguments: [String]
    private let temporaryRoot: String?
    private let progress: @Sendable (GuestProgress) -> Void
    private let slot = CancellableChild()
    private let pause: GuestPause

    init(job: GuestJob, executable: String, arguments: [String], temporaryRoot: String?, pause: GuestPause,
         progress: @escaping @Sendable (GuestProgress) -> Void) {
        self.pause = pause
        self.temporaryRoot = temporaryRoot
        self.job = job
        self.executable = executable
        self.arguments = arguments
        self.progress = progress
    }

    /// Kills the child (now, or as soon as it is spawned).
    func cancel() {
        pause.finish()
        slot.cancel()
    }

    /// Runs the child to the end. Blocks the calling thread.
    func run() -> GuestOutcome {
        let started = UsageClock.monotonicNanoseconds()
        // The child's TMPDIR: its scratch directory goes inside, and this removes it even when
        // the child was killed before it could clean up.
        let temporaryDirectory: String
        do { temporaryDirectory = try ScratchDirectory.makeTemporaryDirectory(prefix: "potluck-sandbox", in: temporaryRoot) } catch {
            return GuestOutcome(termination: .sandboxFailure(error.message))
        }
        defer { ScratchDirectory.removeTree(temporaryDirectory) }
        let child: ChildProcess
        do { child = try ChildProcess(executable: executable, arguments: arguments, temporaryDirectory: temporaryDirectory) } catch {
            return GuestOutcome(termination: .sandboxFailure(error.message))
        }
        slot.attach(child)
        // The wasm child is one process: SIGSTOP stops the guest whole (spec 0019 §2.7).
        pause.attach { [child] stop in child.send(stop ? SIGSTOP : SIGCONT) }
        let deadline = started + UInt64((job.limits.wallSeconds + SandboxRunner.deadlineGrace) * 1e9)
        var session = ChildSession(job: job, child: child, deadline: deadline, pause: pause, progress: progress)
        session.pump()
        pause.finish()
        let (status, cpuMilliseconds, _) = child.reap()
        let wallMilliseconds = Int64((UsageClock.monotonicNanoseconds() - started - pause.pausedNanoseconds()) / 1_000_000)
        let cancelled = slot.isCancelled
        return session.decide(
            status: status, cancelled: cancelled, killed: child.wasKilled,
            cpuMilliseconds: cpuMilliseconds, wallMilliseconds: wallMilliseconds)
    }
}
