import Crypto
import Foundation
import Sandbox

extension JobService {
    /// Runs a submission in its sandbox: WasmKit for a wasm job; bubblewrap for a native task,
    /// whose inputs are first checked against their digests and written to a private staging
    /// directory that is removed afterwards (`spec/0019-native-jobs.md` §4).
    func execute(_ job: Submission, progress: @escaping @Sendable (GuestProgress) -> Void) async -> GuestOutcome {
        switch job {
        case .wasm(let guest):
            return await runner.run(guest, progress: progress)
        case .native(let task, let files):
            let tool: LentTool
            do {
                guard let found = try LenderConfig.load(from: configPath).lentTools(askVersion: false).first(where: { $0.name == task.tool }) else {
                    return GuestOutcome(termination: .sandboxFailure("this lender no longer lends \(task.tool)"))
                }
                tool = found
            } catch {
                return GuestOutcome(termination: .sandboxFailure("the lender cannot find \(task.tool): \(error)"))
            }
            var byDigest: [Bytes32: [UInt8]] = [:]
            for bytes in files { byDigest[Blake2b.hash256(bytes)] = bytes }
            let staging = FileManager.default.temporaryDirectory.appendingPathComponent("potluck-staging-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: staging) }
            var paths: [String: String] = [:]
            do {
                try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
                for (name, digest) in task.inputs.sorted(by: { $0.key < $1.key }) {
                    guard let bytes = byDigest[digest] else {
                        return GuestOutcome(termination: .sandboxFailure("the borrower sent no file for the input '\(name)' (\(digest.hex.prefix(16)))"))
                    }
                    let path = staging + "/" + digest.hex
                    if !FileManager.default.fileExists(atPath: path) { try Data(bytes).write(to: URL(fileURLWithPath: path)) }
                    paths[name] = path
                }
            } catch {
                return GuestOutcome(termination: .sandboxFailure("the lender cannot stage the inputs: \(error.localizedDescription)"))
            }
            return await nativeRunner.run(task, tool: tool, inputs: paths, progress: progress)
        }
    }
}
