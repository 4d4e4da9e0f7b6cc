// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import PotluckCrypto
import Records

/// One task for the native sandbox: a tool the lender lends, its arguments, the input files it
/// reads (named by content), and what it may consume (spec 0019 §3).
///
/// Inside the sandbox the working directory is `/job`; each input is read-only at
/// `/job/in/NAME`; `/job/out` is the only writable directory besides a private `/tmp`, and the
/// regular files the tool leaves there are the task's outputs (spec 0019 §2).
public struct NativeTask: Sendable, Hashable {
    /// The lent tool's name as the lender publishes it (`convert`, `blender`).
    public var tool: String
    /// `argv[1...]`; `argv[0]` is the tool.
    public var arguments: [String]
    /// Input files by flat name → BLAKE2b-256 of their bytes.
    public var inputs: [String: Bytes32]
    /// CPU (`coreSeconds`, as `RLIMIT_CPU`), memory (per process), wall clock, and output
    /// (stdout + stderr + files in `/job/out`).
    public var limits: JobLimits
    /// The most bytes the task may write to `/job` (outputs and scratch files together).
    public var diskBytes: Int64

    /// A task with the given parts.
    public init(tool: String, arguments: [String] = [], inputs: [String: Bytes32] = [:],
                limits: JobLimits = JobLimits(), diskBytes: Int64 = 1 << 30) {
        self.tool = tool
        self.arguments = arguments
        self.inputs = inputs
        self.limits = limits
        self.diskBytes = diskBytes
    }

    /// The task's name: BLAKE2b-256 of `encoded()`; receipts carry it as the job digest.
    public var digest: Bytes32 { Blake2b.hash256(encoded()) }

    /// Where the sandbox puts the input called `name`.
    public static func inputPath(_ name: String) -> String { "/job/in/" + name }
    /// The directory whose regular files are the task's outputs.
    public static let outputDirectory = "/job/out"
}

extension NativeTask {
    /// Size bounds that `validate()` enforces (spec 0019 §3).
    public enum Bounds {
        /// The most input files.
        public static let inputCount = 1000
        /// Disk: 1 MiB to 1 TiB.
        public static let diskBytes: ClosedRange<Int64> = (1 << 20)...(1 << 40)
        /// The largest encoded task.
        public static let encodedBytes = 4 << 20
    }

    /// Throws unless the tool name, arguments, input names and limits are in range.
    public func validate() throws(SandboxError) {
        guard Offer.isToolName(tool) else {
            throw SandboxError(.invalidJob, "'\(tool)' is not a tool name (1-32 letters, digits, '.', '_', '+', '-')")
        }
        guard arguments.count <= GuestJob.Bounds.argumentCount,
              arguments.reduce(0, { $0 + $1.utf8.count }) <= GuestJob.Bounds.argumentBytes else {
            throw SandboxError(.invalidJob, "the arguments are too many or too long (at most \(GuestJob.Bounds.argumentCount), 1 MiB together)")
        }
        if let index = arguments.firstIndex(where: { $0.utf8.contains(0) }) {
            throw SandboxError(.invalidJob, "argument \(index + 1) contains a NUL byte")
        }
        guard inputs.count <= Bounds.inputCount else {
            throw SandboxError(.invalidJob, "\(inputs.count) inputs; at most \(Bounds.inputCount) are allowed")
        }
        for name in inputs.keys { try GuestJob.validateFileName(name) }
        guard Bounds.diskBytes.contains(diskBytes) else {
            throw SandboxError(.invalidJob, "the disk limit is \(diskBytes) bytes; it must be within \(Bounds.diskBytes)")
        }
        try limits.validate()
    }
}
