import Foundation
import PotluckCrypto
import Jobs
import Sandbox

/// What a borrower sends a lender (`spec/0017-jobs.md` §2): a WebAssembly job, or a native
/// task (`spec/0019-native-jobs.md`) whose inputs stay in files here until the lender asks for
/// the ones it lacks (`spec/0020-file-transfer.md`). Both end in a `GuestOutcome` and a
/// receipt for their digest.
public enum Submission: Sendable, Hashable {
    case wasm(GuestJob)
    /// The task and, for each of its input names, the file on this machine.
    case native(NativeTask, inputs: [String: String])

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

    /// This machine's file for each input digest of a native task.
    var inputFiles: [Bytes32: String] {
        guard case .native(let task, let inputs) = self else { return [:] }
        var files: [Bytes32: String] = [:]
        for (name, digest) in task.inputs { files[digest] = inputs[name] }
        return files
    }

    /// The native tool it runs, if any.
    public var tool: String? {
        if case .native(let task, _) = self { return task.tool }
        return nil
    }

    /// The bytes it carries to the lender: the module and its inline inputs, or the input files.
    var payloadBytes: Int {
        switch self {
        case .wasm(let job): job.module.count + job.stdin.count + job.inputFiles.values.reduce(0) { $0 + $1.count }
        case .native(_, let inputs):
            inputs.values.reduce(0) { total, path in
                total + (((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0)
            }
        }
    }

    /// The message that submits it.
    func message(cores: Int) -> JobMessage {
        switch self {
        case .wasm(let job): .submit(job: job.encoded(), cores: cores)
        case .native(let task, _): .submitTask(task: task.encoded(), files: [], cores: cores)
        }
    }
}
