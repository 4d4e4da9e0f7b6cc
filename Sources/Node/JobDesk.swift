import PotluckCrypto
import Foundation
import Jobs

/// The lender's desk: which jobs run, which wait, and in what order (``JobLine``), shared by
/// every connection of the node's job service.
actor JobDesk {
    /// A job running on this machine, for `potluck status`.
    struct Running: Sendable {
        let borrower: PublicKey
        let jobDigest: Bytes32
        let cores: Int
        let startedAt: Date
    }

    private var line: JobLine
    private var waiters: [JobLine.Ticket: CheckedContinuation<Bool, Never>] = [:]
    private var running: [JobLine.Ticket: Running] = [:]

    init(policy: LenderPolicy) { line = JobLine(policy: policy) }

    /// The cores Potluck's jobs hold now.
    var coresInUse: Int { line.load.cores }

    /// What runs now, oldest first.
    var runningJobs: [Running] { running.values.sorted { $0.startedAt < $1.startedAt } }

    /// Takes a job that passed the policy; `onQueued` hears its place in line if it must wait.
    /// Returns its ticket once it may start, or `nil` if it waited `maxWait` in vain.
    func admit(_ demand: JobDemand, priority: JobLine.Priority, policy: LenderPolicy, job: Running,
               maxWait: Duration, onQueued: @Sendable (Int) async -> Void) async -> JobLine.Ticket? {
        line.policy = policy
        let (ticket, admission) = line.admit(demand, priority: priority)
        if case .wait(let position) = admission {
            await onQueued(position)
            let started = await withCheckedContinuation { continuation in
                waiters[ticket] = continuation
                Task { [weak self] in
                    try? await Task.sleep(for: maxWait)
                    await self?.expire(ticket)
                }
            }
            guard started else { return nil }
        }
        running[ticket] = Running(borrower: job.borrower, jobDigest: job.jobDigest, cores: job.cores, startedAt: Date())
        return ticket
    }

    /// The job of `ticket` ended: waiting jobs that now fit start.
    func release(_ ticket: JobLine.Ticket) {
        running[ticket] = nil
        for started in line.release(ticket) {
            waiters.removeValue(forKey: started)?.resume(returning: true)
        }
    }

    private func expire(_ ticket: JobLine.Ticket) {
        guard let waiter = waiters.removeValue(forKey: ticket) else { return }
        _ = line.release(ticket)
        waiter.resume(returning: false)
    }
}
