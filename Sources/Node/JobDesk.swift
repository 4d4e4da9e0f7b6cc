import Foundation
import Jobs
import Lending
import PotluckCrypto

/// The node's driver of the lender's desk (``LenderDesk``, `spec/0017-jobs.md` §3), shared by
/// every connection of the job service. Each connection's task asks for its own job and waits
/// for the desk's word on it; actions for other jobs (a slot freed, a deadline passed) reach
/// their tasks through continuations, and `wake` actions become timers. The clock is wall time
/// since the Unix epoch, so `Running.startedAt` is a date.
actor JobDesk {
    typealias JobID = LenderDesk.JobID

    /// What the desk decided for the caller's job.
    enum Decision: Sendable, Hashable {
        case start
        case fetchInputs
        case refused(JobRefusal)
    }

    private var core: LenderDesk
    private var nextID: JobID = 1
    /// Tasks waiting for the desk's word on their job.
    private var waiters: [JobID: CheckedContinuation<Decision, Never>] = [:]
    /// Words that came before their task waited (while it was telling its borrower its place).
    private var decided: [JobID: Decision] = [:]

    init(policy: LenderPolicy) { core = LenderDesk(policy: policy) }

    /// The desk's clock: wall time since the Unix epoch.
    nonisolated static func now() -> Duration { .milliseconds(Int64(Date().timeIntervalSince1970 * 1000)) }

    /// The cores Potluck's jobs hold now.
    var coresInUse: Int { core.load.cores }

    /// What runs now, oldest first.
    var runningJobs: [LenderDesk.Running] { core.running }

    /// How many jobs wait in line.
    var waitingCount: Int { core.waitingCount }

    /// A new name for a job.
    func newID() -> JobID {
        defer { nextID += 1 }
        return nextID
    }

    /// Why `policy` (which becomes the desk's) refuses `demand` from `borrower` now, if it does.
    func refusal(of demand: JobDemand, from borrower: PublicKey, policy: LenderPolicy, conditions: LenderDesk.Conditions) -> JobRefusal? {
        core.policy = policy
        return core.refusal(of: demand, from: borrower, conditions: conditions)
    }

    /// Job `id` is described: refused, fetched, or in line until it starts or waits longer than
    /// `queueWait`. `onQueued` tells the borrower its place in line.
    func arrive(_ id: JobID, borrower: PublicKey, digest: Bytes32, demand: JobDemand, needsInputs: Bool, policy: LenderPolicy,
                queueWait: Duration, conditions: LenderDesk.Conditions, trust: () -> Double, onQueued: @Sendable (Int) async -> Void) async -> Decision {
        core.policy = policy
        core.maxQueueWait = queueWait
        let actions = core.arrive(id, borrower: borrower, digest: digest, demand: demand, needsInputs: needsInputs,
                                  conditions: conditions, now: Self.now(), trust: trust)
        return await decision(for: id, after: actions, onQueued: onQueued)
    }

    /// The inputs of task `id` are here: in line until it starts or waits too long.
    func inputsArrived(_ id: JobID, trust: () -> Double, onQueued: @Sendable (Int) async -> Void) async -> Decision {
        await decision(for: id, after: core.inputsArrived(id, now: Self.now(), trust: trust), onQueued: onQueued)
    }

    /// Job `id` ended, wherever it was: waiting jobs that now fit start.
    func release(_ id: JobID) {
        perform(core.abandon(id, now: Self.now()))
    }

    /// The borrower of job `id` left: if the job waits in line, it leaves the line at once
    /// (its task hears `refused`) instead of holding its place until it would start.
    /// The word reaches its task even while that task is still telling its borrower its place.
    func borrowerLeft(_ id: JobID) {
        guard core.isWaiting(id) else { return }
        perform(core.abandon(id, now: Self.now()))
        tell(id, .refused(JobRefusal(.unavailable, "the borrower left")))
    }

    private func tick(_ id: JobID) {
        perform(core.tick(id, now: Self.now()))
    }

    /// Carries out `actions`; the caller's own word is returned, or awaited if it is to wait.
    private func decision(for id: JobID, after actions: [LenderDesk.Action], onQueued: @Sendable (Int) async -> Void) async -> Decision {
        var position: Int?
        for action in actions {
            if case .queued(id, let place) = action { position = place }
        }
        perform(actions)
        if let position { await onQueued(position) }
        if let word = decided.removeValue(forKey: id) { return word }
        return await withCheckedContinuation { waiters[id] = $0 }
    }

    private func perform(_ actions: [LenderDesk.Action]) {
        for action in actions {
            switch action {
            case .start(let id): tell(id, .start)
            case .fetchInputs(let id): tell(id, .fetchInputs)
            case .refuse(let id, let refusal): tell(id, .refused(refusal))
            case .queued: break  // told by the caller, whose job it is
            case .wake(let id, let at):
                Task { [weak self] in
                    try? await Task.sleep(for: at - Self.now() + .milliseconds(1))
                    await self?.tick(id)
                }
            }
        }
    }

    private func tell(_ id: JobID, _ word: Decision) {
        if let waiter = waiters.removeValue(forKey: id) { waiter.resume(returning: word) } else { decided[id] = word }
    }
}
