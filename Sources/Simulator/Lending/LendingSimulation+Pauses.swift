// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Jobs
import Lending

/// An idle-only lender pauses its running jobs while its offer says busy, and gives back one
/// paused for `JobMessage.pauseLimit`, as the node does (`pause_while_busy`, `spec/0019` §2.4,
/// `spec/0017` §2.3, `spec/0018` §2.7).
extension LendingSimulation {
    /// Job `number` stops where it is: its end waits, its cores stay taken.
    func pause(_ number: UInt32) {
        let job = jobs[Int(number)]
        guard job.finishAt != .max else { return }
        accountBesideOwner(Int(job.lender))
        jobs[Int(number)].remaining = job.finishAt - min(now, job.finishAt)
        jobs[Int(number)].finishAt = .max
        jobs[Int(number)].pausedAt = now
        metrics.busyCoreSeconds -= overlapSeconds(from: now, to: now + jobs[Int(number)].remaining) * Double(lending.jobCores)
        metrics.pauses += 1
        trace.mixLending(now, UInt64(number) << 32 | UInt64(job.lender), 10)
        let limit = Self.nanoseconds(JobMessage.pauseLimit)
        if now + limit <= end { queue.schedule(.giveBack, at: now + limit, subject: number) }
    }

    /// Job `number` goes on: it ends after the running time it had left.
    func resume(_ number: UInt32) {
        let job = jobs[Int(number)]
        guard job.finishAt == .max else { return }
        accountBesideOwner(Int(job.lender))
        let finish = now + max(1, job.remaining)
        jobs[Int(number)].finishAt = finish
        metrics.busyCoreSeconds += overlapSeconds(from: now, to: finish) * Double(lending.jobCores)
        trace.mixLending(now, UInt64(number) << 32 | UInt64(job.lender), 11)
        queue.schedule(.finish, at: finish, subject: number)
    }

    /// Paused for the limit: the lender kills job `number` and refuses it `not-idle`; its
    /// borrower puts it back in the pool, uncounted, and leaves the lender alone a while.
    func giveBack(job number: UInt32) {
        let job = jobs[Int(number)]
        guard job.state == .running, job.finishAt == .max, job.pausedAt + Self.nanoseconds(JobMessage.pauseLimit) == now else { return }
        let slot = Int(job.lender)
        runningOn[slot].removeAll { $0 == number }
        runningJobs -= 1
        jobs[Int(number)].givenBack = true
        metrics.givenBack += 1
        trace.mixLending(now, UInt64(number) << 32 | UInt64(slot), 12)
        perform(desks[slot].finished(UInt64(number), now: .nanoseconds(now)), at: slot)
        leaveAlone(slot, by: number)
        backToPool(number)
    }

    /// Counts the core-seconds lender `slot`'s guests ran while its owner used the machine,
    /// up to now; called before anything changes either (`guest_core_s_beside_owner`).
    func accountBesideOwner(_ slot: Int) {
        defer { besideOwnerSince[slot] = now }
        guard ownerBusy[slot] else { return }
        let active = runningOn[slot].reduce(0) { $0 + (jobs[Int($1)].finishAt == .max ? 0 : 1) }
        metrics.guestCoreSecondsBesideOwner += Double(active * lending.jobCores) * overlapSeconds(from: besideOwnerSince[slot], to: now)
    }

    /// Seconds of `from..<to` inside the measurement window.
    func overlapSeconds(from start: UInt64, to finish: UInt64) -> Double {
        let low = max(start, measureStart), high = min(finish, measureEnd)
        return high > low ? Double(high - low) / 1e9 : 0
    }
}
