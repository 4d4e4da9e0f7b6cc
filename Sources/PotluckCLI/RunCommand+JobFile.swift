import Crypto
import ArgumentParser
import Foundation
import Jobs
import Node
import Records
import Sandbox
import Synchronization

/// `potluck run JOB.toml`: a job file's tasks fanned out over every lender that lends its
/// tool, as many at once per lender as its offered cores allow; a task whose lender fails runs
/// elsewhere; outputs are saved as they arrive (`spec/0019-native-jobs.md` §6).
extension RunCommand {
    func runJobFile() async throws {
        let file = try nodeErrors { try JobFile.load(job) }
        let planned = try nodeErrors { try file.tasks() }
        let identity: SigningKey
        do { identity = try IdentityFile.load(from: data.directory.identityPath) } catch { throw CLIError(error.description) }
        let first = planned[0].task
        let demand = JobDemand(runtime: Offer.nativeRuntime, tool: file.tool, cores: file.cores, memoryBytes: first.limits.memoryBytes,
                               coreSeconds: first.limits.coreSeconds, wallSeconds: first.limits.wallSeconds)
        let candidates = try findOffers(data, runtime: Offer.nativeRuntime, cores: 1, me: identity.publicKey)
        let (ranked, ruledOut, _) = rankOffers(candidates, for: demand, borrower: identity.publicKey)
        if explain || ranked.isEmpty {
            for (candidate, reason) in ruledOut { standardError("potluck: \(candidate.offer.lender.peerID.prefix(16))… ruled out: \(reason)") }
        }
        guard !ranked.isEmpty else {
            throw CLIError("no offer lends \(file.tool) for this job (\(candidates.count) native offer(s) found); ask a friend to run 'potluck offer set --tool \(file.tool)'")
        }
        standardError("potluck: \(planned.count) task(s) of \(file.tool) over \(ranked.count) lender(s)")
        let board = SharedBoard(TaskBoard(count: planned.count))
        let status = BatchStatus(total: planned.count, enabled: !json)
        try await withStores { receipts, jobs in
            let client = JobClient(identity: identity, receipts: receipts, jobs: jobs)
            await withTaskGroup(of: Void.self) { group in
                for candidate in ranked {
                    guard let lender = try? JobClient.Lender(offer: candidate.offer) else { continue }
                    let slots = max(1, candidate.offer.cores / file.cores)
                    for _ in 0..<slots {
                        group.addTask {
                            await work(on: lender, planned: planned, file: file, client: client, board: board, status: status)
                        }
                    }
                }
            }
        }
        board.withLock { $0.abandonQueued("no lender was left to run it") }
        let states = board.withLock { $0.states }
        status.finish()
        var failed = 0
        for (index, state) in states.enumerated() {
            if case .failed(let reason) = state {
                failed += 1
                standardError("potluck: task \(index + 1) (\(planned[index].label)) failed: \(reason)")
            }
        }
        standardError("potluck: \(states.count - failed) of \(states.count) task(s) done; outputs in \(file.directory)")
        guard failed == 0 else { throw ExitCode(1) }
        if let after = file.after { try runAfter(after, in: file.directory) }
    }

    /// One of a lender's slots: takes tasks until none is left or the lender failed twice.
    private func work(on lender: JobClient.Lender, planned: [PlannedTask], file: JobFile, client: JobClient,
                      board: SharedBoard, status: BatchStatus) async {
        while board.failures(of: lender.key) < 2, let index = board.withLock({ $0.take(for: lender.key) }) {
            let item = planned[index]
            status.update(board.withLock { $0.counts }, "\(item.label) → \(lender.key.peerID.prefix(12))…")
            var inputs: [String: [UInt8]] = [:]
            for (name, path) in item.inputFiles { inputs[name] = FileManager.default.contents(atPath: path).map(Array.init) ?? [] }
            do {
                let completion = try await client.run(.native(item.task, inputs: inputs), cores: file.cores, on: lender)
                let outcome = completion.outcome
                if case .sandboxFailure(let reason) = outcome.termination {
                    board.lenderFailed(index, on: lender.key, reason: reason)
                    continue
                }
                var failure: String? = outcome.exitCode == 0 ? nil : "\(file.tool) \(outcome.summary): " + Self.lastLine(outcome.stderr)
                if failure == nil { failure = save(outcome, for: item) }
                board.withLock { $0.finish(index, on: lender.key, failure: failure) }
            } catch {
                status.note("\(lender.key.peerID.prefix(12))…: \(error)")
                board.lenderFailed(index, on: lender.key, reason: "\(error)")
            }
            status.update(board.withLock { $0.counts }, nil)
        }
    }

    /// Saves a task's outputs; returns why not, if one could not be saved. Never writes outside
    /// the job's directory nor through a symbolic link.
    private func save(_ outcome: GuestOutcome, for item: PlannedTask) -> String? {
        for (name, bytes) in outcome.outputFiles.sorted(by: { $0.key < $1.key }) {
            guard let path = item.destination.path(for: name) else { return "the lender returned an unexpected output '\(name)'" }
            var info = stat()
            if lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK { return "refused to write \(path): it is a symbolic link" }
            do {
                try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try Data(bytes).write(to: URL(fileURLWithPath: path))
            } catch { return "cannot write \(path): \(error.localizedDescription)" }
        }
        if case .files(let expected) = item.destination, let missing = expected.keys.sorted().first(where: { outcome.outputFiles[$0] == nil }) {
            return "the task wrote no \(missing)"
        }
        return nil
    }

    private func runAfter(_ command: [String], in directory: String) throws {
        standardError("potluck: after the tasks: \(command.joined(separator: " "))")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        do { try process.run() } catch { throw CLIError("cannot run the [after] command \(command[0]): \(error.localizedDescription)") }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CLIError("the [after] command exited with \(process.terminationStatus)") }
    }

    static func lastLine(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.suffix(2000), as: UTF8.self).split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
    }
}

/// The task board shared by every lender's slots, and how often each lender failed.
final class SharedBoard: Sendable {
    private let state: Mutex<(board: TaskBoard, failures: [PublicKey: Int])>

    init(_ board: TaskBoard) { state = Mutex((board, [:])) }

    func withLock<T: Sendable>(_ body: (inout TaskBoard) -> T) -> T { state.withLock { body(&$0.board) } }

    func failures(of lender: PublicKey) -> Int { state.withLock { $0.failures[lender] ?? 0 } }

    func lenderFailed(_ index: Int, on lender: PublicKey, reason: String) {
        state.withLock { state in
            state.failures[lender, default: 0] += 1
            state.board.lenderFailed(index, on: lender, reason: reason)
        }
    }
}

/// The batch's progress on stderr: `done / running / queued` and what just started, redrawn
/// in place on a terminal, a line per task otherwise.
final class BatchStatus: Sendable {
    let total: Int
    let enabled: Bool
    private let terminal = isatty(STDERR_FILENO) == 1

    init(total: Int, enabled: Bool) {
        self.total = total
        self.enabled = enabled
    }

    func update(_ counts: (done: Int, running: Int, queued: Int, failed: Int), _ started: String?) {
        guard enabled, terminal || started == nil else { return }
        let failed = counts.failed > 0 ? ", \(counts.failed) failed" : ""
        let line = "potluck: [\(counts.done)/\(total) done, \(counts.running) running, \(counts.queued) queued\(failed)]" + (started.map { " started \($0)" } ?? "")
        FileHandle.standardError.write(Data((terminal ? "\r\u{1B}[K" + line : line + "\n").utf8))
    }

    func note(_ text: String) {
        guard enabled else { return }
        FileHandle.standardError.write(Data(((terminal ? "\r\u{1B}[K" : "") + "potluck: " + text + "\n").utf8))
    }

    func finish() {
        if enabled, terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
