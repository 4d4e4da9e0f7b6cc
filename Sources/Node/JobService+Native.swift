import PotluckCrypto
import Foundation
import JobChannel
import Jobs
import Sandbox

extension JobService {
    /// Runs a submission in its sandbox: WasmKit for a wasm job; bubblewrap for a native task,
    /// whose inputs are in the input store by then (`spec/0019-native-jobs.md` §4) and whose
    /// outputs stay on disk until they are sent (`spec/0020-file-transfer.md` §5).
    func execute(_ job: Submission, cores: Int, pause: GuestPause = GuestPause(),
                 progress: @escaping @Sendable (GuestProgress) -> Void) async -> (GuestOutcome, KeptOutputs) {
        switch job {
        case .wasm(let guest):
            return (await runner.run(guest, pause: pause, progress: progress), .none)
        case .native(let task, _):
            defer { inputStore.prune() }
            let tool: LentTool
            var task = task
            do {
                let config = try LenderConfig.load(from: configPath)
                guard let found = try config.lentTools(askVersion: false).first(where: { $0.name == task.tool }) else {
                    return (GuestOutcome(termination: .sandboxFailure("this lender no longer lends \(task.tool)")), .none)
                }
                tool = found
                // What the task may write is bounded by the lender's `max_disk` too.
                task.diskBytes = min(task.diskBytes, config.maxDiskBytes)
            } catch {
                return (GuestOutcome(termination: .sandboxFailure("the lender cannot find \(task.tool): \(error)")), .none)
            }
            var paths: [String: String] = [:]
            for (name, digest) in task.inputs {
                guard inputStore.has(digest) else {
                    return (GuestOutcome(termination: .sandboxFailure("the input '\(name)' (\(digest.hex.prefix(16))) is not on this machine")), .none)
                }
                paths[name] = inputStore.path(of: digest)
            }
            return await nativeRunner.runKeepingOutputs(task, tool: tool, inputs: paths, cores: cores, pause: pause, progress: progress)
        }
    }

    /// Sends a task's output files by content (`spec/0020-file-transfer.md` §5): waits for the
    /// borrower's `want`, then streams each file it names from where it resumes. Why not, if
    /// they could not all be sent.
    func sendOutputs(_ kept: KeptOutputs, on connection: SecureConnection, inbox: Inbox<JobMessage>) async -> String? {
        guard case .want(let wanted)? = await inbox.next(timeout: .seconds(60)) else {
            return inbox.failure ?? "the borrower did not ask for the outputs"
        }
        let files = Dictionary(kept.files.map { ($0.digest, $0) }, uniquingKeysWith: { first, _ in first })
        for (digest, offset) in wanted.sorted(by: { $0.key.hex < $1.key.hex }) {
            guard let file = files[digest], offset <= file.size else {
                return "the borrower asked for \(digest.hex.prefix(16)) from \(offset), which is not an output of the task"
            }
            do { try await FileChunks.send(digest, at: file.path, from: offset, on: connection) } catch { return error.description }
        }
        return nil
    }

    /// Asks the borrower for the inputs this lender lacks (and where each resumes), and stores
    /// the chunks as they come (`spec/0020-file-transfer.md` §3); a refusal when they do not,
    /// or when the files it lacks add up to more than `capBytes` (the lender's `max_disk`).
    func receiveInputs(of task: NativeTask, from connection: SecureConnection, inbox: Inbox<JobMessage>, capBytes: Int64) async -> JobRefusal? {
        // One transfer at a time: two tasks sharing an input must not both write its partial file,
        // and the second finds it whole.
        await transfers.enter()
        defer { Task { await transfers.leave() } }
        var missing = Set(task.inputs.values.filter { !inputStore.has($0) })
        let wanted = Dictionary(uniqueKeysWithValues: missing.map { ($0, inputStore.receivedBytes(of: $0)) })
        do { try await connection.send(JobMessage.want(wanted).encoded()) } catch { return JobRefusal(.badJob, "the borrower left") }
        var sizes: [Bytes32: Int64] = [:]
        while !missing.isEmpty {
            guard case .chunk(let file, let offset, let size, let data)? = await inbox.next(timeout: .seconds(60)) else {
                return JobRefusal(.badJob, "the task's inputs stopped arriving; \(missing.count) file(s) missing")
            }
            guard missing.contains(file) else { return JobRefusal(.badJob, "a chunk of \(file.hex.prefix(16)), which was not asked for") }
            sizes[file] = size
            let total = sizes.values.reduce(0, +)
            guard total <= capBytes else {
                return JobRefusal(.tooLarge, "the task's inputs hold more than \(Quantities.text(bytes: total)); this lender takes at most \(Quantities.text(bytes: capBytes)) a task (max_disk)")
            }
            do {
                if try inputStore.append(data, to: file, at: offset, size: size) { missing.remove(file) }
            } catch {
                return JobRefusal(.badJob, "\(error)")
            }
        }
        return nil
    }
}

/// A lock for async code: `enter` waits its turn, `leave` hands over to the next in line.
actor AsyncGate {
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func enter() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func leave() {
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }
}
