import Crypto
import Jobs
import Sandbox

/// What a borrower sends a lender (`spec/0017-jobs.md` §2): a WebAssembly job, or a native
/// task with the bytes of its inputs (`spec/0019-native-jobs.md`). Both end in a `GuestOutcome`
/// and a receipt for their digest.
public enum Submission: Sendable, Hashable {
    case wasm(GuestJob)
    /// The task and the contents of its inputs, one copy per distinct BLAKE2b-256.
    case native(NativeTask, files: [[UInt8]])

    /// A native task with its inputs' bytes by name (deduplicated by content).
    public static func native(_ task: NativeTask, inputs: [String: [UInt8]]) -> Submission {
        var seen: Set<Bytes32> = [], files: [[UInt8]] = []
        for name in inputs.keys.sorted() {
            let bytes = inputs[name]!
            if seen.insert(Blake2b.hash256(bytes)).inserted { files.append(bytes) }
        }
        return .native(task, files: files)
    }

    /// The digest receipts and job records name it by.
    public var digest: Bytes32 {
        switch self {
        case .wasm(let job): job.digest
        case .native(let task, _): task.digest
        }
    }

    public var limits: JobLimits {
        switch self {
        case .wasm(let job): job.limits
        case .native(let task, _): task.limits
        }
    }

    /// The native tool it runs, if any.
    public var tool: String? {
        if case .native(let task, _) = self { return task.tool }
        return nil
    }

    /// The message that submits it.
    func message(cores: Int) -> JobMessage {
        switch self {
        case .wasm(let job): .submit(job: job.encoded(), cores: cores)
        case .native(let task, let files): .submitTask(task: task.encoded(), files: files, cores: cores)
        }
    }
}
