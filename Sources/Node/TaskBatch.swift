import PotluckCrypto
import Foundation
import Jobs
import Records
import Sandbox
import Synchronization

/// A job file's tasks run across lenders (`spec/0019-native-jobs.md` §6): each lender gets its
/// slots, each slot takes tasks from a shared ``TaskBoard`` until none is left or its lender
/// failed twice; outputs are saved as tasks complete. With `replicas` K > 1 each task runs on
/// K lenders and only the result most of them gave is saved and paid for (§6.2).
public struct TaskBatch: Sendable {
    public let planned: [PlannedTask]
    public let tool: String
    public let cores: Int
    public let status: BatchStatus
    public let replicas: Int
    /// How long a replica's receipt waits for the others before it is held (answered later);
    /// the lender waits 30 s for the answer (`spec/0011` §6.3).
    public var holdLimit: Duration = .seconds(20)
    /// Hears each task's new state (index into `planned`), as it changes.
    public let observer: @Sendable (Int, TaskBoard.State) -> Void

    public init(planned: [PlannedTask], tool: String, cores: Int, status: BatchStatus, replicas: Int = 1,
                observer: @escaping @Sendable (Int, TaskBoard.State) -> Void = { _, _ in }) {
        self.planned = planned
        self.tool = tool
        self.cores = cores
        self.status = status
        self.replicas = replicas
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
        /// The lenders whose result lost a vote of replicas (§6.2), and how many tasks' replicas
        /// disagreed.
        public var outvoted: Set<PublicKey>
        public var disagreements: Int
        /// Tasks decided by fewer replicas than asked, no lender being left for the others.
        public var shortOfReplicas = 0
        /// Lenders that refused a task `not-idle`: their owners came back (§6.3).
        public var ownerBack: Set<PublicKey> = []
    }

    /// Runs every task on `lenders` (each with its number of slots). Tasks no lender was left
    /// to run fail, unless `keepQueued` (a detached job waits for other offers).
    public func run(on lenders: [(JobClient.Lender, Int)], client: JobClient, keepQueued: Bool = false) async -> Result {
        Self.sweepStaging(of: planned)
        let board = SharedBoard(TaskBoard(count: planned.count, replicas: replicas))
        let slots = lenders.reduce(0) { $0 + $1.1 }
        board.open(Dictionary(lenders.map { ($0.0.key, $0.1 + 1) }, uniquingKeysWith: +))
        await withTaskGroup(of: Void.self) { group in
            for (lender, count) in lenders {
                for _ in 0..<count { group.addTask { await work(on: lender, client: client, board: board, settles: !keepQueued) } }
                group.addTask { await work(on: lender, client: client, board: board, aheadOf: slots, settles: !keepQueued) }
            }
        }
        if !keepQueued {
            settle(board.withLock { $0.stranded(among: []) }, board: board, client: client)
            let abandoned = board.withLock { board in
                board.abandonQueued("no lender was left to run it")
                return board.states.indices.filter { if case .failed = board.states[$0] { true } else { false } }
            }
            for index in abandoned { observer(index, board.withLock { $0.states[index] }) }
        }
        let (sent, received) = board.transferred
        return Result(states: board.withLock { $0.states }, sentInputBytes: sent, receivedOutputBytes: received,
                      outvoted: board.withLock { $0.outvoted }, disagreements: board.disagreements,
                      shortOfReplicas: board.withLock { $0.decidedShort }, ownerBack: board.ownerBack)
    }

    /// One of a lender's slots: takes tasks until none is left or the lender failed twice.
    ///
    /// With `aheadOf`, the slot that keeps one more task waiting in the lender's line, its
    /// inputs already sent, so a core that frees starts the next task at once instead of idling
    /// through a round of connect, inputs and outputs (§6). It takes a task only while more
    /// are queued than the batch has slots (the last ones go where a core is free) and until
    /// the lender refuses one of its tasks `busy` behind another of this batch: its tasks
    /// outlast its `queue_wait`, and such a refusal is no failure of the lender.
    ///
    /// When a lender's last slot ends and `settles`, a task some replicas ran that wants one no
    /// lender still working may take is voted over those at once (§6.2): its replicas waiting
    /// for the vote are answered now, not held.
    private func work(on lender: JobClient.Lender, client: JobClient, board: SharedBoard, aheadOf slots: Int? = nil, settles: Bool) async {
        defer {
            let stranded = board.slotEnded(lender.key)
            if settles { settle(stranded, board: board, client: client) }
        }
        while board.failures(of: lender.key) < 2, !Task.isCancelled, let index = await board.next(for: lender.key, aheadOf: slots) {
            let item = planned[index]
            observer(index, .running(lender.key))
            status.update(board, "\(item.label) → \(lender.key.peerID.prefix(12))…")
            // Outputs arrive beside where they are saved (one file system: saving is a link), in
            // a directory named after the task: a transfer cut short resumes there when the task
            // runs again (another lender, a restarted borrower) and its output is the same.
            let incoming = staging(of: item, on: lender.key)
            defer {
                switch board.withLock({ $0.states[index] }) {
                // Voted done but not yet concluded, the winners' outputs are being saved from
                // their staging: `conclude` removes it then.
                case .done where replicas > 1 && board.decision(of: index) == nil: break
                case .done, .failed: try? FileManager.default.removeItem(atPath: incoming)
                case .queued, .running: break
                }
            }
            do {
                let completion = try await client.run(.native(item.task, inputs: item.inputFiles), cores: cores, on: lender, outputs: incoming,
                                                       events: { event in
                    switch event {
                    case .started:
                        board.withLock { $0.markStarted(index, on: lender.key) }
                        status.update(board, nil)
                    case .paused(let on):
                        status.note("\(item.label) on \(lender.key.peerID.prefix(12))… " + (on ? "paused: its owner is using the machine" : "goes on: the machine is idle again"))
                    default: break
                    }
                }, judge: { await judge(index, on: lender.key, $0, board: board, client: client) })
                board.addTransferred(sent: completion.sentInputBytes, received: completion.receivedOutputBytes)
                if case .sandboxFailure(let reason) = completion.outcome.termination {
                    board.lenderFailed(index, on: lender.key, reason: reason)
                    observer(index, board.withLock { $0.states[index] })
                    continue
                }
                if let proposal = completion.heldProposal {
                    board.held(proposal, of: index, from: lender.key, client: client)
                } else if case .failure(let problem) = completion.receipt {
                    // The work is done but unrecorded: the borrower says why (`spec/0011` §6.2).
                    status.note("\(item.label) on \(lender.key.peerID.prefix(12))…: no receipt signed by both: \(problem)")
                }
            } catch .refused(let refusal) where refusal.code == .busy && board.refusedBehindOwnTask(index, by: lender.key) {
                // Back in line untried; this slot goes on once the batch's task there is done.
            } catch .refused(let refusal) where refusal.code.meansCannotLendNow {
                // Its owner came back, paused lending, or its window closed: no failure of the
                // task nor of the lender, but its slots stop and the task goes back in line.
                status.note("\(lender.key.peerID.prefix(12))…: \(refusal.reason); no more tasks go there for now")
                board.cannotLendNow(index, on: lender.key, refusal)
            } catch {
                status.note("\(lender.key.peerID.prefix(12))…: \(error)")
                board.lenderFailed(index, on: lender.key, reason: "\(error)")
            }
            observer(index, board.withLock { $0.states[index] })
            status.update(board, nil)
        }
    }

    /// Judges the result of `lender`'s replica of task `index` (§6.2): records it and, once
    /// the last replica is back, saves the winning outputs and answers every replica's receipt.
    /// Until then a replica waits for the vote, at most `holdLimit`, then is held.
    private func judge(_ index: Int, on lender: PublicKey, _ completion: JobClient.Completion, board: SharedBoard,
                       client: JobClient) async -> JobClient.Judgement {
        // A broken sandbox is the lender's failure, not a result: the slot puts the task back.
        if case .sandboxFailure = completion.outcome.termination { return .countersign }
        let outcome = completion.outcome
        let failure = outcome.exitCode == 0 ? nil : "\(tool) \(outcome.summary): " + Self.lastLine(outcome.stderr)
        let verdict = board.finish(index, on: lender, completion, digest: completion.resultDigest, failure: failure)
        if verdict != .pending { conclude(index, verdict, except: lender, board: board) }
        return await board.answer(index, for: lender, after: verdict, client: client, within: holdLimit)
    }

    /// Settles tasks no lender is left for over the replicas that ran (§6.2): saved and answered.
    private func settle(_ indices: [Int], board: SharedBoard, client: JobClient) {
        for index in indices {
            let verdict = board.withLock { $0.settle(index) }
            guard verdict != .pending else { continue }
            conclude(index, verdict, board: board)
            board.decide(index, verdict, client: client)
        }
    }

    /// Task `index` is decided: the winners' outputs are saved and the task recorded, before
    /// any receipt is answered (a borrower killed now does not run the task again); every
    /// replica's staging directory but `lender`'s (its slot removes it) goes.
    private func conclude(_ index: Int, _ verdict: TaskBoard.Verdict, except lender: PublicKey? = nil, board: SharedBoard) {
        if case .decided(let winners, _) = verdict, case .done = board.withLock({ $0.states[index] }),
           let winning = board.completion(of: index, from: winners[0]), let failure = save(winning, for: planned[index]) {
            board.withLock { $0.fail(index, reason: failure) }
        }
        observer(index, board.withLock { $0.states[index] })
        for other in verdict.lenders where replicas > 1 && other != lender {
            try? FileManager.default.removeItem(atPath: staging(of: planned[index], on: other))
        }
    }

    /// Where `item`'s outputs from `lender` are received before they are saved (`spec/0020` §5):
    /// one directory per task, or per task and lender when replicas are compared.
    func staging(of item: PlannedTask, on lender: PublicKey) -> String {
        replicas == 1 ? Self.staging(of: item) : Self.staging(of: item) + "-" + lender.raw.hex.prefix(12)
    }

    static func staging(of item: PlannedTask) -> String {
        item.destination.directory + "/" + stagingPrefix + item.task.digest.hex.prefix(32)
    }

    static let stagingPrefix = ".potluck-incoming-"

    /// Removes the staging directories of tasks already done (a borrower killed after saving
    /// a task's outputs and before removing them), every replica's too.
    public static func removeStaging(of done: [PlannedTask]) {
        for item in done {
            let directory = item.destination.directory, name = (staging(of: item) as NSString).lastPathComponent
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where entry.hasPrefix(name) {
                try? FileManager.default.removeItem(atPath: directory + "/" + entry)
            }
        }
    }

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
/// The task board shared by every lender's slots: how often each lender failed, what crossed
/// the wire, and the replicas waiting for their task's vote (`spec/0019-native-jobs.md` §6.2).
final class SharedBoard: Sendable {
    private struct State {
        var board: TaskBoard
        var failures: [PublicKey: Int] = [:]
        var sent: Int64 = 0, received: Int64 = 0
        /// Lenders whose tasks outlast their line's wait (no task is sent ahead to them).
        var notAhead: Set<PublicKey> = []
        /// Bumped at every change of the board; slots waiting for one to take a task.
        var generation = 0
        var changeWaiters: [CheckedContinuation<Void, Never>] = []
        /// Per task: the replicas' completions until the vote, the vote, the replicas waiting
        /// for it (with the timer that holds them), and the proposals held.
        var completions: [Int: [PublicKey: JobClient.Completion]] = [:]
        var decisions: [Int: TaskBoard.Verdict] = [:]
        var voteWaiters: [Int: [(id: Int, lender: PublicKey, continuation: CheckedContinuation<JobClient.Judgement, Never>, timer: Task<Void, Never>?)]] = [:]
        var held: [Int: [PublicKey: Receipt]] = [:]
        var disagreements = 0
        var nextID = 0
        /// Slots still working, per lender.
        var slots: [PublicKey: Int] = [:]
        /// Lenders that refused a task because they cannot lend now (they take no more), and
        /// those of them whose owner came back (`not-idle`).
        var away: Set<PublicKey> = []
        var ownerBack: Set<PublicKey> = []
    }

    private let state: Mutex<State>

    init(_ board: TaskBoard) { state = Mutex(State(board: board)) }

    func addTransferred(sent: Int64, received: Int64) {
        state.withLock {
            $0.sent += sent
            $0.received += received
        }
    }

    /// Input bytes sent and output bytes received, so far.
    var transferred: (sent: Int64, received: Int64) { state.withLock { ($0.sent, $0.received) } }

    /// Tasks whose replicas disagreed (a minority, or no majority).
    var disagreements: Int { state.withLock { $0.disagreements } }

    /// Reads or changes the board; slots waiting for a task look again.
    func withLock<T: Sendable>(_ body: (inout TaskBoard) -> T) -> T {
        let (result, woken) = state.withLock { state in
            let result = body(&state.board)
            state.generation += 1
            defer { state.changeWaiters = [] }
            return (result, state.changeWaiters)
        }
        for waiter in woken { waiter.resume() }
        return result
    }

    /// The next task for a slot of `lender`; for its slot ahead (`aheadOf` the batch's slots),
    /// only while more tasks are queued than that and the lender still takes tasks ahead.
    /// With replicas a slot with nothing to take now waits while a failure or a tie elsewhere
    /// may still want its lender; `nil` once none can.
    func next(for lender: PublicKey, aheadOf slots: Int?) async -> Int? {
        while true {
            let (taken, mayWait, generation) = state.withLock { state -> (Int?, Bool, Int) in
                let board = state.board
                // A lender that failed twice, or cannot lend now, takes no more.
                if state.failures[lender, default: 0] >= 2 || state.away.contains(lender) { return (nil, false, state.generation) }
                if let slots, board.queuedCount <= slots || state.notAhead.contains(lender) {
                    return (nil, board.replicas > 1 && board.mayTakeMore(lender), state.generation)
                }
                let taken = state.board.take(for: lender)
                if taken != nil { state.generation += 1 }
                return (taken, board.replicas > 1 && board.mayTakeMore(lender), state.generation)
            }
            if let taken { return taken }
            guard mayWait else { return nil }
            await withCheckedContinuation { continuation in
                let changed = state.withLock { state in
                    if state.generation != generation { return true }
                    state.changeWaiters.append(continuation)
                    return false
                }
                if changed { continuation.resume() }
            }
        }
    }

    /// Task `index` was refused `busy` by `lender`: when another task of this batch is there,
    /// it waited behind that one past the lender's `queue_wait` — it goes back in line as if
    /// never taken, the lender gets no task ahead from now on, and this returns true.
    func refusedBehindOwnTask(_ index: Int, by lender: PublicKey) -> Bool {
        let behind = state.withLock { state in
            guard state.board.runs(lender, besides: index) else { return false }
            state.notAhead.insert(lender)
            return true
        }
        if behind { withLock { $0.putBack(index, from: lender) } }
        return behind
    }

    /// The slots about to work, per lender.
    func open(_ slots: [PublicKey: Int]) { state.withLock { $0.slots = slots } }

    /// One of `lender`'s slots ended. When it was the lender's last, the tasks it leaves
    /// stranded (``TaskBoard/stranded(among:)`` the lenders still working), else none.
    func slotEnded(_ lender: PublicKey) -> [Int] {
        state.withLock { state in
            state.slots[lender, default: 1] -= 1
            guard state.slots[lender] == 0 else { return [] }
            state.slots[lender] = nil
            return state.board.stranded(among: Set(state.slots.keys))
        }
    }

    func failures(of lender: PublicKey) -> Int { state.withLock { $0.failures[lender] ?? 0 } }

    /// `lender` refused task `index` because it cannot lend now: the task goes back in line
    /// uncounted (the refusal is its last failure's reason), and the lender takes no more.
    func cannotLendNow(_ index: Int, on lender: PublicKey, _ refusal: JobRefusal) {
        state.withLock { state in
            state.away.insert(lender)
            if refusal.code == .notIdle { state.ownerBack.insert(lender) }
        }
        withLock { $0.putBack(index, from: lender, reason: "\(refusal)") }
    }

    /// Lenders whose owners came back during the batch.
    var ownerBack: Set<PublicKey> { state.withLock { $0.ownerBack } }

    func lenderFailed(_ index: Int, on lender: PublicKey, reason: String) {
        state.withLock { $0.failures[lender, default: 0] += 1 }
        withLock { $0.lenderFailed(index, on: lender, reason: reason) }
    }

    /// Records `lender`'s result of task `index` and returns the board's verdict.
    func finish(_ index: Int, on lender: PublicKey, _ completion: JobClient.Completion, digest: Bytes32, failure: String?) -> TaskBoard.Verdict {
        state.withLock { $0.completions[index, default: [:]][lender] = completion }
        return withLock { $0.finish(index, on: lender, digest: digest, failure: failure) }
    }

    /// The completion `lender` returned for task `index`, until the task is decided.
    func completion(of index: Int, from lender: PublicKey) -> JobClient.Completion? {
        state.withLock { $0.completions[index]?[lender] }
    }

    /// What to answer `lender`'s proposal for task `index` once its result made `verdict`
    /// (§6.2): at once when it decided the task (answering every replica), else after waiting
    /// for the vote at most `limit`, `hold` when it comes too late.
    func answer(_ index: Int, for lender: PublicKey, after verdict: TaskBoard.Verdict, client: JobClient,
                within limit: Duration) async -> JobClient.Judgement {
        guard verdict != .pending else { return await judgement(of: index, for: lender, within: limit) }
        decide(index, verdict, client: client)
        return verdict.judgement(for: lender)
    }

    /// Waits for task `index`'s vote, at most `limit`: what to answer `lender`'s proposal
    /// (`hold` when the vote came too late).
    func judgement(of index: Int, for lender: PublicKey, within limit: Duration) async -> JobClient.Judgement {
        await withCheckedContinuation { continuation in
            let decided = state.withLock { state -> TaskBoard.Verdict? in
                if let verdict = state.decisions[index] { return verdict }
                state.nextID += 1
                let id = state.nextID
                let timer = Task { [weak self] in
                    try? await Task.sleep(for: limit)
                    guard !Task.isCancelled, let self else { return }
                    let waiter = self.state.withLock { state in
                        state.voteWaiters[index]?.firstIndex { $0.id == id }.map { state.voteWaiters[index]!.remove(at: $0) }
                    }
                    waiter?.continuation.resume(returning: .hold)
                }
                state.voteWaiters[index, default: []].append((id, lender, continuation, timer))
                return nil
            }
            if let decided { continuation.resume(returning: decided.judgement(for: lender)) }
        }
    }

    /// Task `index` is decided: every replica waiting hears its answer, held winners are
    /// countersigned now.
    func decide(_ index: Int, _ verdict: TaskBoard.Verdict, client: JobClient) {
        let (waiters, held) = state.withLock { state in
            state.decisions[index] = verdict
            state.completions[index] = nil
            switch verdict {
            case .decided(_, let outvoted) where !outvoted.isEmpty: state.disagreements += 1
            case .unresolved: state.disagreements += 1
            case .decided, .pending: break
            }
            defer { state.voteWaiters[index] = nil; state.held[index] = nil }
            return (state.voteWaiters[index] ?? [], state.held[index] ?? [:])
        }
        for waiter in waiters {
            waiter.timer?.cancel()
            waiter.continuation.resume(returning: verdict.judgement(for: waiter.lender))
        }
        for (holder, proposal) in held where verdict.judgement(for: holder) == .countersign { _ = client.countersign(held: proposal) }
    }

    /// No lender is left for the replicas task `index` still wants (``TaskBoard/settle(_:)``):
    /// decided now if none is out, else when the last returns.
    func settle(_ index: Int, client: JobClient) {
        let verdict = withLock { $0.settle(index) }
        if verdict != .pending { decide(index, verdict, client: client) }
    }

    /// Task `index`'s verdict, once taken.
    func decision(of index: Int) -> TaskBoard.Verdict? { state.withLock { $0.decisions[index] } }

    /// `lender`'s proposal for task `index` was held: countersigned now if the task is decided
    /// in its favour, else when it is.
    func held(_ proposal: Receipt, of index: Int, from lender: PublicKey, client: JobClient) {
        let verdict = state.withLock { state -> TaskBoard.Verdict? in
            if let verdict = state.decisions[index] { return verdict }
            state.held[index, default: [:]][lender] = proposal
            return nil
        }
        if verdict?.judgement(for: lender) == .countersign { _ = client.countersign(held: proposal) }
    }
}

extension TaskBoard.Verdict {
    /// Every lender whose replica the verdict judged.
    var lenders: [PublicKey] {
        switch self {
        case .pending: []
        case .decided(let winners, let outvoted): winners + outvoted
        case .unresolved(let lenders): lenders
        }
    }

    /// What to answer `lender`'s receipt proposal.
    func judgement(for lender: PublicKey) -> JobClient.Judgement {
        switch self {
        case .pending: .hold
        case .decided(let winners, let outvoted):
            winners.contains(lender) ? .countersign
                : .refuse("its result differs from the one \(winners.count) of the \(winners.count + outvoted.count) replicas gave")
        case .unresolved(let lenders): .refuse("none of the \(lenders.count) replicas' results had a majority")
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
