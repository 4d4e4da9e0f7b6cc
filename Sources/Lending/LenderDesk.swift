// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import Jobs
import PotluckCrypto

/// The lender's side of the job exchange (`spec/0017-jobs.md` §3), sans-I/O: from a described
/// job to its start or refusal, and from its end to the jobs that start next. The node's job
/// service and the lending simulator both drive it, so a policy the simulator measures is the
/// one a node runs.
///
/// Events come in as calls with the driver's clock (`now`, a `Duration` since the driver's
/// epoch); what to do comes out as ``Action``s, in order: start a job, refuse it, tell the
/// borrower its place in line, fetch a task's inputs, or call ``tick(_:now:)`` at a time. The
/// policy always wins (DESIGN decision 5): it is checked when a job is described, and the line
/// (``JobLine``: friends first, then trust, then arrival) decides who runs when slots free up.
public struct LenderDesk: Sendable {
    /// The driver's name for one job: a connection on the node, a job number in the simulator.
    public typealias JobID = UInt64

    /// What the lender's machine and owner say now, besides the policy.
    public struct Conditions: Sendable, Hashable {
        /// Minutes since midnight UTC, for the policy's windows.
        public var minuteOfDay: Int
        public var machine: MachineState
        /// The owner paused lending (`potluck lending pause`): every job is refused `unavailable`.
        public var paused: Bool

        public init(minuteOfDay: Int, machine: MachineState, paused: Bool = false) {
            self.minuteOfDay = minuteOfDay
            self.machine = machine
            self.paused = paused
        }
    }

    /// What the driver must do, in the order given.
    public enum Action: Sendable, Hashable {
        /// Run the job now: tell its borrower `started`, then hand it to the sandbox.
        case start(JobID)
        /// Tell the borrower why not, and close: the desk has forgotten the job.
        case refuse(JobID, JobRefusal)
        /// Tell the borrower the job waits at this place in line (1 = next).
        case queued(JobID, position: Int)
        /// The task passed the policy: fetch the inputs the lender lacks, then call
        /// ``inputsArrived(_:now:trust:)`` (or ``abandon(_:)`` if they do not come).
        case fetchInputs(JobID)
        /// Call ``tick(_:now:)`` for this job at this time.
        case wake(JobID, at: Duration)
    }

    /// A job that runs now, for `potluck status` and the dashboard.
    public struct Running: Sendable, Hashable {
        public let borrower: PublicKey
        public let jobDigest: Bytes32
        public let cores: Int
        public let startedAt: Duration
    }

    private enum State {
        case fetching
        case waiting(JobLine.Ticket, deadline: Duration)
        case running(JobLine.Ticket)
    }

    private struct Job {
        let borrower: PublicKey
        let digest: Bytes32
        let demand: JobDemand
        var state: State
        var startedAt: Duration = .zero
    }

    /// How long a job may wait in line before it is refused `busy` (the node sets it from the
    /// lender's `queue_wait`; a job already waiting keeps the deadline it was given).
    public var maxQueueWait: Duration
    private var line: JobLine
    private var jobs: [JobID: Job] = [:]
    private var byTicket: [JobLine.Ticket: JobID] = [:]

    public init(policy: LenderPolicy, maxQueueWait: Duration = .seconds(60)) {
        line = JobLine(policy: policy)
        self.maxQueueWait = maxQueueWait
    }

    /// The policy that decides; the node sets it each time the lender edits it.
    public var policy: LenderPolicy {
        get { line.policy }
        set { line.policy = newValue }
    }

    /// What the running jobs hold.
    public var load: LenderLoad { line.load }
    /// How many jobs wait in line.
    public var waitingCount: Int { line.waitingCount }

    /// The jobs that run now, oldest first.
    public var running: [Running] {
        jobs.values.compactMap { job in
            guard case .running = job.state else { return nil }
            return Running(borrower: job.borrower, jobDigest: job.digest, cores: job.demand.cores, startedAt: job.startedAt)
        }.sorted { $0.startedAt < $1.startedAt }
    }

    /// Whether job `id` waits in line.
    public func isWaiting(_ id: JobID) -> Bool {
        guard let job = jobs[id], case .waiting = job.state else { return false }
        return true
    }

    /// Why the lender refuses `demand` from `borrower` under `conditions`, or `nil` if the job
    /// may wait for a slot (`spec/0017-jobs.md` §3.1). The owner's pause comes first.
    public func refusal(of demand: JobDemand, from borrower: PublicKey, conditions: Conditions) -> JobRefusal? {
        if conditions.paused { return JobRefusal(.unavailable, "the lender paused lending; try another lender") }
        return policy.refusal(of: demand, from: borrower, minuteOfDay: conditions.minuteOfDay, machine: conditions.machine)
    }

    /// A borrower described job `id` (a `submit` or a `submit-task`): refused now, or (for a
    /// task whose inputs must come first) fetched, or put in line. `trust` is the lender's trust
    /// in the borrower (`spec/0012-trust.md`), asked only if the job enters the line.
    public mutating func arrive(_ id: JobID, borrower: PublicKey, digest: Bytes32, demand: JobDemand, needsInputs: Bool = false,
                                conditions: Conditions, now: Duration, trust: () -> Double) -> [Action] {
        precondition(jobs[id] == nil, "job \(id) is already at the desk")
        if let refusal = refusal(of: demand, from: borrower, conditions: conditions) { return [.refuse(id, refusal)] }
        jobs[id] = Job(borrower: borrower, digest: digest, demand: demand, state: .fetching)
        if needsInputs { return [.fetchInputs(id)] }
        return enterLine(id, now: now, trust: trust)
    }

    /// The inputs of task `id` are all on this machine: it enters the line.
    public mutating func inputsArrived(_ id: JobID, now: Duration, trust: () -> Double) -> [Action] {
        guard let job = jobs[id], case .fetching = job.state else { return [] }
        return enterLine(id, now: now, trust: trust)
    }

    /// Job `id` ended (it ran to its end, or was killed): its slot goes to who is next in line.
    public mutating func finished(_ id: JobID, now: Duration) -> [Action] {
        abandon(id, now: now)
    }

    /// Job `id` ends wherever it is (its borrower left, its inputs never came, it finished):
    /// the desk forgets it, and waiting jobs that now fit start, best first.
    @discardableResult
    public mutating func abandon(_ id: JobID, now: Duration) -> [Action] {
        guard let job = jobs.removeValue(forKey: id) else { return [] }
        switch job.state {
        case .fetching: return []
        case .waiting(let ticket, _), .running(let ticket):
            byTicket[ticket] = nil
            return line.release(ticket).compactMap { ticket in
                guard let next = byTicket[ticket] else { return nil }
                jobs[next]?.state = .running(ticket)
                jobs[next]?.startedAt = now
                return .start(next)
            }
        }
    }

    /// The time asked for by a `wake` came: a job still waiting past its deadline is refused
    /// `busy`.
    public mutating func tick(_ id: JobID, now: Duration) -> [Action] {
        guard let job = jobs[id], case .waiting(let ticket, let deadline) = job.state, now >= deadline else { return [] }
        jobs[id] = nil
        byTicket[ticket] = nil
        _ = line.release(ticket)
        return [.refuse(id, JobRefusal(.busy, "every slot stayed taken for \(maxQueueWait); try another lender or later"))]
    }

    private mutating func enterLine(_ id: JobID, now: Duration, trust: () -> Double) -> [Action] {
        guard let job = jobs[id] else { return [] }
        let priority = JobLine.Priority(friend: policy.friends.contains(job.borrower), trust: trust())
        let (ticket, admission) = line.admit(job.demand, priority: priority)
        byTicket[ticket] = id
        switch admission {
        case .start:
            jobs[id]?.state = .running(ticket)
            jobs[id]?.startedAt = now
            return [.start(id)]
        case .wait(let position):
            let deadline = now + maxQueueWait
            jobs[id]?.state = .waiting(ticket, deadline: deadline)
            return [.queued(id, position: position), .wake(id, at: deadline)]
        }
    }
}
