// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Jobs
import PotluckCrypto
import Records

/// Replicated jobs (`spec/0018-lending-simulation.md` §2.6): a borrower runs each job on
/// `replicas` distinct lenders, as `potluck run --replicas K` does, and compares their results'
/// digests once all are back. A majority is accepted: the replicas that agree with it get their
/// receipts countersigned, the others none, and the borrower's identity avoids their lenders
/// from then on. Without a majority it runs one more replica, at most two more than asked; then
/// the job ends unresolved and no replica of it is countersigned.
extension LendingSimulation {
    /// The most replicas one job may run: those asked and two to break ties.
    var replicaCap: Int { lending.replicas + 2 }

    /// The lenders job `number` must not go to (`MatchRequest.avoided`, a hard constraint of
    /// `spec/0016` §2): those its borrower's identity avoids (outvoted, or their owners came
    /// back a short while ago), and those holding another replica of the same job.
    func avoidedLenders(of number: UInt32) -> Set<PublicKey> {
        let job = jobs[Int(number)]
        let current = job.generation == generation[Int(job.borrower)]
        var slots = Set<Int32>()
        if current { for (slot, until) in ownerBackUntil[Int(job.borrower)] where until > now { slots.insert(slot) } }
        guard lending.replicas > 1 else { return slots.isEmpty ? [] : Set(slots.map { offerTemplates[Int($0)].lender }) }
        if current { slots.formUnion(avoided[Int(job.borrower)]) }
        for sibling in groups[job.group] ?? [] where sibling != number && jobs[Int(sibling)].lender >= 0 {
            slots.insert(jobs[Int(sibling)].lender)
        }
        return Set(slots.map { offerTemplates[Int($0)].lender })
    }

    /// What a replica's result is, as a digest: 0 right; 1 a wrong result malicious lenders
    /// agree on (`malicious_agree`); otherwise a wrong result of its own.
    func digest(of number: UInt32) -> UInt64 {
        guard jobs[Int(number)].wrong else { return 0 }
        return lending.maliciousAgree ? 1 : 2 + UInt64(number)
    }

    /// A replica's result is back: once its whole group is, the borrower compares them.
    func resultOfReplica(_ number: UInt32) {
        let group = jobs[Int(number)].group
        guard let members = groups[group], members.allSatisfy({ jobs[Int($0)].state == .done }) else { return }
        let vote = ReplicaVote(members.map(digest(of:)))
        if case .majority(let winner, let minority) = vote {
            for (index, member) in members.enumerated() {
                if minority.contains(index) { refuse(member) } else { countersign(member) }
            }
            complete(group, wrong: winner != 0)
            groups[group] = nil
        } else if members.count < replicaCap {
            metrics.replicaDisagreements += 1
            trace.mixLending(now, UInt64(group) << 32, 6)
            var extra = jobs[Int(group)]
            extra.state = .pending
            extra.lender = -1
            extra.wrong = false
            extra.replica = UInt8(members.count)
            jobs.append(extra)
            let added = UInt32(jobs.count - 1)
            groups[group] = members + [added]
            pool.append(added)
        } else {
            for member in members { refuse(member) }
            if jobs[Int(group)].measured { metrics.jobsUnresolved += 1 }
            groups[group] = nil
        }
    }

    /// The borrower does not countersign replica `number` (its result lost the comparison, or
    /// none won): no receipt, and its identity avoids the lender from now on.
    private func refuse(_ number: UInt32) {
        let job = jobs[Int(number)]
        metrics.receiptsRefused += 1
        trace.mixLending(now, UInt64(number) << 32 | UInt64(job.lender), 7)
        guard job.generation == generation[Int(job.borrower)] else { return }
        avoided[Int(job.borrower)].insert(job.lender)
        known[Int(job.borrower)].removeAll { $0 == job.lender }
    }
}
