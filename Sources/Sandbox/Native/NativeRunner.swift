// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs native tasks under bubblewrap (spec 0019 §2): a lent tool in fresh namespaces with no
/// network, read-only system paths, read-only inputs, one writable directory, a seccomp filter,
/// rlimits, an outside deadline and caps on output and disk. The outcome has the same shape as
/// a wasm job's (`GuestOutcome`), so results, digests and receipts work alike.
public struct NativeRunner: Sendable {
    public var programs: BubblewrapInvocation.Programs
    public var hostLimits: BubblewrapInvocation.HostLimits
    /// Where each task's directory is made; `nil` means `$TMPDIR` or `/tmp`.
    public var temporaryRoot: String?
    /// Whether each task gets its own cgroup where the node may make one (spec 0019 §2.3).
    public var useCgroups: Bool

    public init(programs: BubblewrapInvocation.Programs = .init(), hostLimits: BubblewrapInvocation.HostLimits = .init(),
                temporaryRoot: String? = nil, useCgroups: Bool = true) {
        self.programs = programs
        self.hostLimits = hostLimits
        self.temporaryRoot = temporaryRoot
        self.useCgroups = useCgroups
    }

    /// Which limits bind a task's whole process tree here, in a sentence (spec 0019 §2.3).
    public static func cgroupSupport() -> String {
        let (hierarchies, problem) = CgroupHierarchy.node
        let controllers = Set(hierarchies.flatMap(\.controllers)).map(\.rawValue).sorted()
        guard !controllers.isEmpty else {
            return "no cgroup this node may write\(problem.map { " (\($0))" } ?? ""): a task's memory and CPU are bounded per process (rlimits), its processes in number"
        }
        let version = hierarchies.contains(where: \.unified) ? (hierarchies.contains { !$0.unified } ? "v1 and v2" : "v2") : "v1"
        return "each task gets a cgroup (\(version): \(controllers.joined(separator: ", "))): its processes together stay within its memory, cores and process count"
    }

    /// `nil` when native tasks can run here; otherwise a sentence saying what is missing. It
    /// runs `true` in the sandbox, so it fails exactly where a task would.
    public func unavailability() async -> String? {
        for program in [programs.bwrap, programs.prlimit]
        where !FileManager.default.isExecutableFile(atPath: program) {
            return "\(program) is missing: install bubblewrap and util-linux (apt-get install bubblewrap) to lend native tools"
        }
        let probe = LentTool(name: "true", path: "/usr/bin/true", version: "")
        let outcome = await run(NativeTask(tool: "true", limits: JobLimits(coreSeconds: 5, wallSeconds: 20)), tool: probe, inputs: [:])
        guard outcome.termination == .exited(0) else {
            let said = String(decoding: outcome.stderr, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init) ?? outcome.summary
            return "bubblewrap cannot make a sandbox here (\(said)); user namespaces may be turned off (sysctl kernel.unprivileged_userns_clone=1)"
        }
        return nil
    }

    /// Runs `task` with `tool`; `inputs` gives each of the task's input names a file on this
    /// machine (copied into the task's directory); `cores`, when given, is its CPU quota where
    /// a cgroup is available; `pause` lets the caller stop the task and let it go on
    /// (``GuestPause``). Never throws: every failure is an outcome.
    public func run(_ task: NativeTask, tool: LentTool, inputs: [String: String], cores: Int? = nil, pause: GuestPause = GuestPause(),
                    progress: @escaping @Sendable (GuestProgress) -> Void = { _ in }) async -> GuestOutcome {
        await run(task, tool: tool, inputs: inputs, cores: cores, keepOutputs: false, pause: pause, progress: progress).0
    }

    /// Runs `task` as ``run(_:tool:inputs:progress:)`` does, but leaves its output files on disk
    /// (`spec/0020-file-transfer.md` §5): the outcome has none, and the caller removes the
    /// returned files once it has sent them.
    public func runKeepingOutputs(_ task: NativeTask, tool: LentTool, inputs: [String: String], cores: Int? = nil,
                                  pause: GuestPause = GuestPause(),
                                  progress: @escaping @Sendable (GuestProgress) -> Void = { _ in }) async -> (GuestOutcome, KeptOutputs) {
        await run(task, tool: tool, inputs: inputs, cores: cores, keepOutputs: true, pause: pause, progress: progress)
    }

    private func run(_ task: NativeTask, tool: LentTool, inputs: [String: String], cores: Int?, keepOutputs: Bool,
                     pause: GuestPause, progress: @escaping @Sendable (GuestProgress) -> Void) async -> (GuestOutcome, KeptOutputs) {
        let supervisor = NativeSupervisor(runner: self, task: task, tool: tool, inputs: inputs, cores: cores, keepOutputs: keepOutputs,
                                          pause: pause, progress: progress)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<(GuestOutcome, KeptOutputs), Never>) in
                let thread = Thread { continuation.resume(returning: supervisor.run()) }
                thread.name = "potluck native supervisor"
                thread.start()
            }
        } onCancel: {
            supervisor.cancel()
        }
    }
}
