import PotluckCrypto
import Foundation
import Jobs
import Sandbox
import Synchronization

/// A job file's tasks run across lenders (`spec/0019-native-jobs.md` §6): each lender gets its
/// slots, each slot takes tasks from a shared ``TaskBoard`` until none is left or its lender
/// failed twice; outputs are saved as tasks complete.
public struct TaskBatch: Sendable {
    public let planned: [PlannedTask]
    public let tool: String
    public let cores: Int
    public let status: BatchStatus
    /// Hears each task's new state (index into `planned`), as it changes.
    public let observer: @Sendable (Int, TaskBoard.State) -> Void

    public init(planned: [PlannedTask], tool: String, cores: Int, status: BatchStatus,
                observer: @escaping @Sendable (Int, TaskBoard.State) -> Void = { _, _ in }) {
        self.planned = planned
        self.tool = tool
        self.cores = cores
        self.status = status
        self.observer = observer
    }

    /// What came of a batch.
    public struct Result: Sendable {
        /// The final state of each task.
        public var states: [TaskBoard.State]
        /// Bytes of input files sent, because lenders lacked them.
        public var sentInputBytes: Int64
        /// Bytes of output files received.
        public var receivedOutputBytes: Int64
    }

    /// Runs every task on `lenders` (each with its number of slots). Tasks no lender was left
    /// to run fail, unless `keepQueued` (a detached job waits for other offers).
    public func run(on lenders: [(JobClient.Lender, Int)], client: JobClient, keepQueued: Bool = false) async -> Result {
        Self.sweepStaging(of: planned)
        let board = SharedBoard(TaskBoard(count: planned.count))
        let slots = lenders.reduce(0) { $0 + $1.1 }
        await withTaskGroup(of: Void.self) { group in
            for (lender, count) in lenders {
                for _ in 0..<count { group.addTask { await work(on: lender, client: client, board: board) } }
                group.addTask { await work(on: lender, client: client, board: board, aheadOf: slots) }
            }
        }
        if !keepQueued {
            let abandoned = board.withLock { board in
                board.abandonQueued("no lender was left to run it")
                return board.states.indices.filter { if case .failed = board.states[$0] { true } else { false } }
            }
            for index in abandoned { observer(index, board.withLock { $0.states[index] }) }
        }
        let (sent, received) = board.transferred
        return Result(states: board.withLock { $0.states }, sentInputBytes: sent, receivedOutputBytes: received)
    }

    /// One of a lender's slots: takes tasks until none is left or the lender failed twice.
    ///
    /// With `aheadOf`, the slot that keeps one more task waiting in the lender's line, its
    /// inputs already sent, so a core that frees starts the next task at once instead of idling
    /// through a round of connect, inputs and outputs (§6). It takes a task only while more
    /// are queued than the batch has slots (the last ones go where a core is free) and until
    /// the lender refuses one of its tasks `busy` behind another of this batch: its tasks
    /// outlast its `queue_wait`, and such a refusal is no failure of the lender.
    private func work(on lender: JobClient.Lender, client: JobClient, board: SharedBoard, aheadOf slots: Int? = nil) async {
        while board.failures(of: lender.key) < 2, !Task.isCancelled, let index = board.take(for: lender.key, aheadOf: slots) {
            let item = planned[index]
            observer(index, .running(lender.key))
            status.update(board, "\(item.label) → \(lender.key.peerID.prefix(12))…")
            // Outputs arrive beside where they are saved (one file system: saving is a link), in
            // a directory named after the task: a transfer cut short resumes there when the task
            // runs again (another lender, a restarted borrower) and its output is the same.
            let incoming = Self.staging(of: item)
            defer {
                switch board.withLock({ $0.states[index] }) {
                case .done, .failed: try? FileManager.default.removeItem(atPath: incoming)
                case .queued, .running: break
                }
            }
            do {
                let completion = try await client.run(.native(item.task, inputs: item.inputFiles), cores: cores, on: lender, outputs: incoming) { event in
                    guard case .started = event else { return }
                    board.withLock { $0.markStarted(index) }
                    status.update(board, nil)
                }
                let outcome = completion.outcome
                board.addTransferred(sent: completion.sentInputBytes, received: completion.receivedOutputBytes)
                if case .sandboxFailure(let reason) = outcome.termination {
                    board.lenderFailed(index, on: lender.key, reason: reason)
                    observer(index, board.withLock { $0.states[index] })
                    continue
                }
                var failure: String? = outcome.exitCode == 0 ? nil : "\(tool) \(outcome.summary): " + Self.lastLine(outcome.stderr)
                if failure == nil { failure = save(completion, for: item) }
                board.withLock { $0.finish(index, on: lender.key, failure: failure) }
            } catch .refused(let refusal) where refusal.code == .busy && board.refusedBehindOwnTask(index, by: lender.key) {
                // Back in line untried; this slot goes on once the batch's task there is done.
            } catch {
                status.note("\(lender.key.peerID.prefix(12))…: \(error)")
                board.lenderFailed(index, on: lender.key, reason: "\(error)")
            }
            observer(index, board.withLock { $0.states[index] })
            status.update(board, nil)
        }
    }

    /// Where `item`'s outputs are received before they are saved (`spec/0020` §5).
    static func staging(of item: PlannedTask) -> String {
        item.destination.directory + "/" + stagingPrefix + item.task.digest.hex.prefix(32)
    }

    static let stagingPrefix = ".potluck-incoming-"

    /// Removes what other runs left in the outputs' directories (a borrower killed mid-task):
    /// staging directories untouched for a day that none of `planned` uses.
    static func sweepStaging(of planned: [PlannedTask], olderThan age: TimeInterval = 86_400, now: Date = Date()) {
        let own = Set(planned.map(staging(of:)))
        for directory in Set(planned.map(\.destination.directory)) {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix(stagingPrefix) {
                let path = directory + "/" + name
                guard !own.contains(path), let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
                      now.timeIntervalSince(modified) > age else { continue }
                try? FileManager.default.removeItem(atPath: path)
            }
        }
    }

    /// Saves a task's outputs (files received by content, or inline from the outcome); returns
    /// why not, if one could not be saved. Never writes outside the job's directory, through a
    /// symbolic link, nor over a directory.
    func save(_ completion: JobClient.Completion, for item: PlannedTask) -> String? {
        var names: Set<String> = []
        for (name, staged) in completion.outputFiles.sorted(by: { $0.key < $1.key }) {
            if let failure = Self.write(name, for: item, { path in
                // A hard link where the file system allows (no copy of a large output), else a copy.
                if link(staged, path) != 0 { try FileManager.default.copyItem(atPath: staged, toPath: path) }
            }) { return failure }
            names.insert(name)
        }
        for (name, bytes) in completion.outcome.outputFiles.sorted(by: { $0.key < $1.key }) {
            if let failure = Self.write(name, for: item, { try Data(bytes).write(to: URL(fileURLWithPath: $0)) }) { return failure }
            names.insert(name)
        }
        if case .files(let expected) = item.destination, let missing = expected.keys.sorted().first(where: { !names.contains($0) }) {
            return "the task wrote no \(missing)"
        }
        return nil
    }

    /// Writes the output `name` where `item` saves it, replacing a regular file there.
    private static func write(_ name: String, for item: PlannedTask, _ body: (String) throws -> Void) -> String? {
        guard let path = item.destination.path(for: name) else { return "the lender returned an unexpected output '\(name)'" }
        switch JobFile.fileType(path) {
        case .typeSymbolicLink?: return "refused to write \(path): it is a symbolic link"
        case .typeRegular?, nil: break
        default: return "refused to write \(path): it is not a regular file"
        }
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            if JobFile.fileType(path) != nil { try FileManager.default.removeItem(atPath: path) }
            try body(path)
        } catch { return "cannot write \(path): \(error.localizedDescription)" }
        return nil
    }

    public static func lastLine(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.suffix(2000), as: UTF8.self).split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
    }
}

/// The task board shared by every lender's slots, and how often each lender failed.
final class SharedBoard: Sendable {
    /// `notAhead`: lenders whose tasks outlast their line's wait (no task is sent ahead to them).
    private let state: Mutex<(board: TaskBoard, failures: [PublicKey: Int], sent: Int64, received: Int64, notAhead: Set<PublicKey>)>

    init(_ board: TaskBoard) { state = Mutex((board, [:], 0, 0, [])) }

    func addTransferred(sent: Int64, received: Int64) {
        state.withLock {
            $0.sent += sent
            $0.received += received
        }
    }

    /// Input bytes sent and output bytes received, so far.
    var transferred: (sent: Int64, received: Int64) { state.withLock { ($0.sent, $0.received) } }

    func withLock<T: Sendable>(_ body: (inout TaskBoard) -> T) -> T { state.withLock { body(&$0.board) } }

    /// The next task for a slot of `lender`; for its slot ahead (`aheadOf` the batch's slots),
    /// only while more tasks are queued than that and the lender still takes tasks ahead.
    func take(for lender: PublicKey, aheadOf slots: Int?) -> Int? {
        state.withLock { state in
            if let slots, state.board.queuedCount <= slots || state.notAhead.contains(lender) { return nil }
            return state.board.take(for: lender)
        }
    }

    /// Task `index` was refused `busy` by `lender`: when another task of this batch is there,
    /// it waited behind that one past the lender's `queue_wait` — it goes back in line as if
    /// never taken, the lender gets no task ahead from now on, and this returns true.
    func refusedBehindOwnTask(_ index: Int, by lender: PublicKey) -> Bool {
        state.withLock { state in
            guard state.board.states.indices.contains(where: { $0 != index && state.board.states[$0] == .running(lender) }) else { return false }
            state.notAhead.insert(lender)
            state.board.putBack(index)
            return true
        }
    }

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
public final class BatchStatus: Sendable {
    let total: Int
    let enabled: Bool
    private let terminal = isatty(STDERR_FILENO) == 1

    public init(total: Int, enabled: Bool) {
        self.total = total
        self.enabled = enabled
    }

    func update(_ board: SharedBoard, _ started: String?) {
        guard enabled, terminal || started == nil else { return }
        let line = Self.line(total: total, board.withLock { ($0.counts, $0.countsByLender) }) + (started.map { " started \($0)" } ?? "")
        FileHandle.standardError.write(Data((terminal ? "\r\u{1B}[K" + line : line + "\n").utf8))
    }

    /// `potluck: [3/16 done, 2 running, 2 waiting at lenders, 9 queued] pk1abc…: 2 done, 1 running; …`
    static func line(total: Int, _ progress: (counts: TaskBoard.Counts, byLender: [PublicKey: TaskBoard.Counts])) -> String {
        let counts = progress.counts
        var parts = ["\(counts.done)/\(total) done", "\(counts.running) running"]
        if counts.waiting > 0 { parts.append("\(counts.waiting) waiting at lenders") }
        parts.append("\(counts.queued) queued")
        if counts.failed > 0 { parts.append("\(counts.failed) failed") }
        let lenders = progress.byLender.sorted { $0.key.peerID < $1.key.peerID }.map { lender, counts in
            "\(lender.peerID.prefix(10))…: \(counts.done) done, \(counts.running) running" + (counts.waiting > 0 ? ", \(counts.waiting) waiting" : "")
        }
        return "potluck: [" + parts.joined(separator: ", ") + "]" + (lenders.isEmpty ? "" : " " + lenders.joined(separator: "; "))
    }

    func note(_ text: String) {
        guard enabled else { return }
        FileHandle.standardError.write(Data(((terminal ? "\r\u{1B}[K" : "") + "potluck: " + text + "\n").utf8))
    }

    public func finish() {
        if enabled, terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
