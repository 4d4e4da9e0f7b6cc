import ControlAPI
import PotluckCrypto
import Foundation
import Jobs
import Logging
import Records
import Sandbox
import Synchronization

/// Job files the node runs on its own, detached from the terminal that submitted them
/// (`potluck run --detach`, `spec/0019-native-jobs.md` §7). Each job's state lives in LMDB
/// (``BatchStore``) and changes task by task, so a node stopped or killed mid-job resumes it at
/// start with the tasks that were not done. While no offer lends the tool, the job waits and
/// looks again every ``retryInterval``.
public final class DetachedJobs: Sendable {
    /// How long a job with no usable offer waits before looking again.
    public static let retryInterval: Duration = .seconds(5)

    /// The live offers for a native tool, with this borrower's trust in each lender.
    public typealias OfferSource = @Sendable (_ tool: String) async -> [OfferCandidate]

    let store: BatchStore
    /// The lenders this borrower sends no work to (`potluck avoid`), read before each round.
    let avoided: AvoidedLenders?
    let client: JobClient
    let me: PublicKey
    let findOffers: OfferSource
    let logger: Logger
    private let running = Mutex<[String: Task<Void, Never>]>([:])

    public init(store: BatchStore, avoided: AvoidedLenders? = nil, client: JobClient, me: PublicKey, logger: Logger, findOffers: @escaping OfferSource) {
        self.store = store
        self.avoided = avoided
        self.client = client
        self.me = me
        self.logger = logger
        self.findOffers = findOffers
    }

    /// Checks the job file as `potluck run` would (one line naming the problem), records the
    /// job and starts it.
    /// Records the job file at `path` and starts it; each task runs on `replicas` lenders.
    public func submit(jobFile path: String, replicas: Int = 1) throws(NodeError) -> BatchRecord {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        let file = try JobFile.load(absolute)
        let planned = try file.tasks()
        let now = Self.unixMilliseconds()
        var record = BatchRecord(id: Hex.encode(SecureRandom.bytes(4)), jobFile: absolute, tool: file.tool, created: now,
                                 tasks: planned.map { BatchRecord.Task(label: $0.label) })
        record.replicas = replicas == 1 ? nil : replicas
        record.note("submitted: \(planned.count) task(s) of \(file.tool)" + (replicas == 1 ? "" : ", each on \(replicas) lenders"), at: now)
        do { try store.put(record) } catch { throw NodeError("cannot record the job: \(error)") }
        start(record.id)
        return record
    }

    /// Starts every job that was not over when the node last stopped.
    public func resumeUnfinished() {
        let unfinished = ((try? store.all()) ?? []).filter { !$0.phase.isOver }
        for record in unfinished {
            try? store.update(record.id) { $0.note("resumed after the node restarted", at: Self.unixMilliseconds()) }
            start(record.id)
        }
    }

    public func list() throws(NodeError) -> [BatchRecord] {
        do { return try store.all() } catch { throw NodeError("cannot read the jobs: \(error)") }
    }

    /// The job whose id is `id`, or starts with it.
    public func record(_ id: String) throws(NodeError) -> BatchRecord {
        let matches = try list().filter { $0.id.hasPrefix(id.lowercased()) }
        guard matches.count == 1, let record = matches.first else {
            throw NodeError(matches.isEmpty ? "no job \(id); 'potluck jobs' lists them" : "\(matches.count) jobs start with \(id); give more of the id")
        }
        return record
    }

    /// Stops a job: tasks running on lenders are dropped (the lenders stop them), the rest never
    /// start. Outputs already saved stay.
    public func cancel(_ id: String) throws(NodeError) -> BatchRecord {
        let found = try record(id)
        guard !found.phase.isOver else { return found }
        running.withLock { $0[found.id] }?.cancel()
        let cancelled = try? store.update(found.id) { record in
            let now = Self.unixMilliseconds()
            record.phase = .cancelled
            record.ended = now
            for index in record.tasks.indices where record.tasks[index].state == .running || record.tasks[index].state == .queued {
                record.tasks[index].state = .queued
            }
            record.note("cancelled", at: now)
        }
        return cancelled ?? found
    }

    /// Stops every job's work without changing its state (the node is stopping: they resume
    /// at its next start).
    public func stopAll() {
        for task in running.withLock({ $0.values }) { task.cancel() }
    }

    private func start(_ id: String) {
        running.withLock { running in
            guard running[id] == nil else { return }
            running[id] = Task { [self] in
                await drive(id)
                _ = self.running.withLock { $0.removeValue(forKey: id) }
            }
        }
    }

    /// Runs a job's remaining tasks until every one ended or the job was cancelled.
    private func drive(_ id: String) async {
        var saidWaiting = false
        while !Task.isCancelled {
            guard let record = try? store.get(id), !record.phase.isOver else { return }
            let file: JobFile, planned: [PlannedTask]
            do {
                file = try JobFile.load(record.jobFile)
                planned = try file.tasks()
                guard planned.count == record.tasks.count else {
                    throw NodeError("the job file now makes \(planned.count) task(s), not the \(record.tasks.count) it made when submitted")
                }
            } catch {
                return await finish(id, failure: "cannot read \(record.jobFile): \(error)")
            }
            // Tasks not done yet; one left running by a stopped node goes back in line.
            let remaining = record.tasks.indices.filter { record.tasks[$0].state == .queued || record.tasks[$0].state == .running }
            TaskBatch.removeStaging(of: record.tasks.indices.filter { record.tasks[$0].state == .done }.map { planned[$0] })
            if remaining.isEmpty { return await finish(id, file: file) }
            let ranking = rankOffers(await findOffers(file.tool), for: file.demand(planned), borrower: me, avoided: (try? avoided?.all()) ?? [:])
            let lenders = file.lenders(ranking.ranked)
            let replicas = record.replicas ?? 1
            guard lenders.count >= replicas else {
                if !saidWaiting {
                    let have = lenders.isEmpty ? Self.noLender(of: file.tool, ruledOut: ranking.ruledOut.map(\.1))
                        : "\(lenders.count) lender(s) of \(file.tool) can run this job and \(replicas) replicas need \(replicas)"
                    update(id) { record in
                        record.phase = .waiting
                        record.note("waiting: \(have); looking again every \(Self.retryInterval.components.seconds) s", at: Self.unixMilliseconds())
                    }
                    saidWaiting = true
                }
                try? await Task.sleep(for: Self.retryInterval)
                continue
            }
            saidWaiting = false
            update(id) { record in
                record.phase = .running
                for index in remaining { record.tasks[index].state = .queued }
                record.note("running \(remaining.count) task(s) over \(lenders.count) lender(s)", at: Self.unixMilliseconds())
            }
            let batch = TaskBatch(planned: remaining.map { planned[$0] }, tool: file.tool, cores: file.cores,
                                  status: BatchStatus(total: remaining.count, enabled: false), replicas: replicas) { [self] index, state in
                observe(id, task: remaining[index], state)
            }
            let result = await batch.run(on: lenders, client: client, keepQueued: true)
            if !result.outvoted.isEmpty {
                // As an attached run does (spec 0019 §6.3): no more work goes to them.
                let names = result.outvoted.map { String($0.peerID.prefix(16)) + "…" }.sorted().joined(separator: ", ")
                for lender in result.outvoted {
                    try? avoided?.add(lender, reason: AvoidedLenders.outvoted(tool: file.tool, job: "\(record.jobFile) (job \(id))", replicas: replicas))
                }
                update(id) { $0.note("outvoted, their receipts refused and avoided from now on: \(names)", at: Self.unixMilliseconds()) }
            }
            if !result.ownerBack.isEmpty {
                let names = result.ownerBack.map { String($0.peerID.prefix(16)) + "…" }.sorted().joined(separator: ", ")
                for lender in result.ownerBack { try? avoided?.add(lender, reason: AvoidedLenders.ownerBack, for: JobRefusal.ownerBackMemory) }
                update(id) { $0.note("the owner of \(names) came back to the machine: no tasks go there for \(JobRefusal.ownerBackMemory.components.seconds / 60) minutes", at: Self.unixMilliseconds()) }
            }
            if result.states.contains(.queued) && !Task.isCancelled {
                update(id) { $0.note("no lender was left for some tasks; looking for offers again", at: Self.unixMilliseconds()) }
                try? await Task.sleep(for: Self.retryInterval)
            }
        }
    }

    /// Records a task's new state.
    private func observe(_ id: String, task index: Int, _ state: TaskBoard.State) {
        update(id) { record in
            guard !record.phase.isOver else { return }
            let now = Self.unixMilliseconds()
            var task = record.tasks[index]
            switch state {
            case .running(let lender):
                task.state = .running
                task.lender = lender.peerID
                task.started = now
                task.ended = nil
                task.attempts += 1
                record.note("task \(index + 1) (\(task.label)) started on \(lender.peerID.prefix(16))…", at: now)
            case .done(let lender):
                guard task.state != .done else { return }
                task.state = .done
                task.lender = lender.peerID
                task.ended = now
                task.reason = nil
                let seconds = task.started.map { String(format: " in %.1f s", Double(now - $0) / 1000) } ?? ""
                record.note("task \(index + 1) (\(task.label)) done on \(lender.peerID.prefix(16))…\(seconds)", at: now)
            case .failed(let reason):
                guard task.state != .failed else { return }
                task.state = .failed
                task.ended = now
                task.reason = reason
                record.note("task \(index + 1) (\(task.label)) failed: \(reason)", at: now)
            case .queued:
                guard task.state == .running else { return }
                task.state = .queued
                record.note("task \(index + 1) (\(task.label)) goes back in line", at: now)
            }
            record.tasks[index] = task
        }
    }

    /// Every task ended: the job is done (then its `after` command runs here) or failed.
    private func finish(_ id: String, file: JobFile? = nil, failure: String? = nil) async {
        let finished = try? store.update(id) { record in
            let now = Self.unixMilliseconds()
            let failed = record.counts[.failed, default: 0]
            record.phase = failure != nil || failed > 0 ? .failed : .done
            record.ended = now
            if let failure { record.note("failed: \(failure)", at: now) }
            record.note("\(record.counts[.done, default: 0]) of \(record.tasks.count) task(s) done" + (failed > 0 ? ", \(failed) failed" : ""), at: now)
        }
        guard let finished, finished.phase == .done, let file, let after = file.after else { return }
        let outcome = await file.runAfter(showingOutput: false)
        update(id) { record in
            if outcome != nil { record.phase = .failed }
            record.note(outcome.map { "the [after] command failed: \($0)" } ?? "the [after] command \(after.joined(separator: " ")) succeeded",
                        at: Self.unixMilliseconds())
        }
    }

    private func update(_ id: String, _ change: (inout BatchRecord) -> Void) {
        do { try store.update(id, change) } catch { logger.error("cannot record the state of job \(id): \(error)") }
    }

    /// Why no lender can take a job of `tool` now, from the reasons its offers were ruled out:
    /// none lends the tool, or those that do cannot now (their owner is at the machine, they
    /// are outside their hours, avoided…), each reason once with how many lenders gave it.
    static func noLender(of tool: String, ruledOut reasons: [String]) -> String {
        let others = reasons.filter { $0 != missingToolReason(tool) }
        guard !others.isEmpty else { return "no offer lends \(tool) for this job yet" }
        let counted = Dictionary(others.map { ($0, 1) }, uniquingKeysWith: +).sorted { ($1.value, $0.key) < ($0.value, $1.key) }
        return "no lender of \(tool) can take this job now (" + counted.map { "\($0.value) ruled out: \($0.key)" }.joined(separator: "; ") + ")"
    }

    static func unixMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
