// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Foundation

/// Runs guest jobs in `potluck-sandbox` child processes (spec 0014 §8).
///
/// Each run spawns a child, writes `job.encoded()` to its stdin and reads frames from its
/// stdout: stderr chunks and usage reports (passed to `progress`), then the outcome. The
/// parent enforces the wall-clock deadline by SIGKILL, caps what it reads, and kills the
/// child if the calling task is cancelled. No child outlives `run`.
public struct SandboxRunner: Sendable {
    /// The `potluck-sandbox` executable, or `nil` to search for it on each run.
    public let executable: String?
    /// Arguments for the executable (for a binary that is the sandbox child only when asked,
    /// such as `potluck __sandbox-child`).
    public let arguments: [String]
    /// Where each run's temporary directory (the guest's scratch directory inside) is made;
    /// `nil` means `$TMPDIR` or `/tmp`.
    public let temporaryRoot: String?
    /// Time granted after `wallSeconds` for the child to start and report, before SIGKILL.
    public static let deadlineGrace: Double = 0.25

    /// A runner for the given `potluck-sandbox` executable; by default it is looked for next to
    /// the running executable (`/proc/self/exe`, which for `swift test` is `.build/debug`),
    /// then next to `CommandLine.arguments[0]`, then on `PATH`.
    public init(executable: String? = nil, arguments: [String] = [], temporaryRoot: String? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.temporaryRoot = temporaryRoot
    }

    /// The argument that makes the `potluck` executable act as the sandbox child.
    public static let childArgument = "__sandbox-child"

    /// A runner whose child is the running executable itself, started with ``childArgument``:
    /// `swift run potluck` builds only `potluck`, so a node needs no second binary.
    public static func runningExecutableAsChild() -> SandboxRunner {
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return SandboxRunner(executable: path, arguments: [childArgument])
    }

    /// Runs `job` and reports what came of it. Never throws: every failure is a
    /// `GuestTermination`. `progress` is called from another thread, in order. `pause` lets the
    /// caller stop the guest and let it go on (``GuestPause``).
    public func run(
        _ job: GuestJob, pause: GuestPause = GuestPause(), progress: @escaping @Sendable (GuestProgress) -> Void = { _ in }
    ) async -> GuestOutcome {
        do { try job.validate() } catch {
            return GuestOutcome(termination: error.code == .notWebAssembly ? .invalidModule(error.message) : .sandboxFailure("invalid job: \(error.message)"))
        }
        var path = executable ?? ""
        if executable == nil {
            do { path = try SandboxExecutable.locate() } catch {
                return GuestOutcome(termination: .sandboxFailure(error.message))
            }
        }
        if Task.isCancelled { return GuestOutcome(termination: .sandboxFailure(ChildSupervisor.cancelledReason)) }
        let supervisor = ChildSupervisor(job: job, executable: path, arguments: arguments, temporaryRoot: temporaryRoot, pause: pause, progress: progress)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<GuestOutcome, Never>) in
                let thread = Thread { continuation.resume(returning: supervisor.run()) }
                thread.name = "potluck-sandbox supervisor"
                thread.start()
            }
        } onCancel: {
            supervisor.cancel()
        }
    }
}
