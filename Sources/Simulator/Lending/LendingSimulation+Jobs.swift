// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Jobs
import Trust

/// One job of the economy, from submission to receipt (`spec/0018-lending-simulation.md` §3).
struct Job {
    enum State: UInt8 { case pending, travelling, waiting, running, returning, done }
    var borrower: UInt32
    /// The borrower's identity number when it submitted the job (its receipt names that key).
    var generation: UInt32
    var submitted: UInt64
    var coreSeconds: Double
    var state: State = .pending
    var lender: Int32 = -1
    var ticket: JobLine.Ticket?
    var started: UInt64 = 0
    /// Submitted inside the measurement window.
    var measured: Bool
}

extension LendingSimulation {
    /// The cores, memory and time a job asks of its lender (`spec/0017-jobs.md` §3).
    func demand(_ job: Job) -> JobDemand {
        JobDemand(runtime: Self.runtime, cores: lending.jobCores, memoryBytes: 0, coreSeconds: job.coreSeconds,
                  wallSeconds: job.coreSeconds / Double(lending.jobCores))
    }

    /// A borrower submits a job: it joins the pending pool.
    func arrival(of peer: UInt32) {
        let measured = now >= measureStart && now < measureEnd
        let size = lending.jobSize.sample(using: &random)
        jobs.append(Job(borrower: peer, generation: generation[Int(peer)], submitted: now, coreSeconds: size,
                        measured: measured))
        pool.append(UInt32(jobs.count - 1))
        if measured { metrics.classes[Int(peerClass[Int(peer)].rawValue)].submitted += 1 }
        scheduleArrival(of: peer)
    }

    /// The match sent job `number` to lender `slot`: it travels one way to it.
    func dispatch(_ number: UInt32, to slot: Int32) {
        let borrower = Int(jobs[Int(number)].borrower)
        jobs[Int(number)].state = .travelling
        jobs[Int(number)].lender = slot
        incoming[Int(slot)] += 1
        trace.mixLending(now, UInt64(number) << 32 | UInt64(slot), 1)
        queue.schedule(.deliver, at: now + placement.latency(from: borrower, to: Int(lenderPeer[Int(slot)])), subject: number)
    }

    /// The job reaches its lender: the policy decides, then the line starts it or makes it wait.
    func deliver(job number: UInt32) {
        let job = jobs[Int(number)]
        let slot = Int(job.lender)
        incoming[slot] -= 1
        let borrowerKey = key(job.borrower, job.generation)
        let demand = demand(job)
        if lines[slot].policy.refusal(of: demand, from: borrowerKey, minuteOfDay: 0,
                                      machine: MachineState(idle: true, detail: "simulated")) != nil {
            metrics.constraintViolations += 1
            backToPool(number)
            return
        }
        var priority = JobLine.Priority(friend: false, trust: 0)
        if lending.order != .fifo {
            priority.trust = lenderTrust(slot: slot, borrower: job.borrower, generation: job.generation)
            let classIndex = Int(peerClass[Int(job.borrower)].rawValue)
            metrics.classes[classIndex].trustAsked += 1
            metrics.classes[classIndex].trustSum += priority.trust
            if priority.trust != 0 { metrics.classes[classIndex].trustKnown += 1 }
        }
        let (ticket, admission) = lines[slot].admit(demand, priority: priority)
        jobs[Int(number)].ticket = ticket
        switch admission {
        case .start:
            start(number)
        case .wait:
            jobs[Int(number)].state = .waiting
            ticketJobs[UInt64(slot) << 32 | UInt64(UInt32(truncatingIfNeeded: ticket.number))] = number
            queue.schedule(.lineTimeout, at: now + Self.nanoseconds(lending.maxLineWait), subject: number,
                           extra: UInt32(truncatingIfNeeded: ticket.number))
        }
    }

    /// The job starts on its lender: its wait ends, its end is scheduled.
    func start(_ number: UInt32) {
        let job = jobs[Int(number)]
        jobs[Int(number)].state = .running
        jobs[Int(number)].started = now
        runningJobs += 1
        let wall = Self.nanoseconds(job.coreSeconds / Double(lending.jobCores))
        let finish = now + max(1, wall)
        let classIndex = Int(peerClass[Int(job.borrower)].rawValue)
        if job.measured {
            let wait = Double(now - job.submitted) / 1e9
            metrics.classes[classIndex].waits.append(wait)
            metrics.classes[classIndex].started += 1
            sampleWaits[classIndex].append(wait)
        }
        let overlap = min(finish, measureEnd) > max(now, measureStart) ? min(finish, measureEnd) - max(now, measureStart) : 0
        metrics.busyCoreSeconds += Double(overlap) / 1e9 * Double(lending.jobCores)
        trace.mixLending(now, UInt64(number) << 32 | UInt64(job.lender), 2)
        queue.schedule(.finish, at: finish, subject: number)
    }

    /// The job ends: the line starts who is next; the result travels back to the borrower.
    func finish(job number: UInt32) {
        let job = jobs[Int(number)]
        let slot = Int(job.lender)
        runningJobs -= 1
        jobs[Int(number)].state = .returning
        metrics.classes[Int(peerClass[Int(lenderPeer[slot])].rawValue)].given += job.coreSeconds
        metrics.computeGiven += job.coreSeconds
        metrics.resultsInFlight += 1
        metrics.resultsInFlightCoreSeconds += job.coreSeconds
        trace.mixLending(now, UInt64(number) << 32 | UInt64(slot), 3)
        if let ticket = job.ticket {
            for next in lines[slot].release(ticket) {
                let key = UInt64(slot) << 32 | UInt64(UInt32(truncatingIfNeeded: next.number))
                guard let waiting = ticketJobs.removeValue(forKey: key) else { continue }
                start(waiting)
            }
        }
        queue.schedule(.result, at: now + placement.latency(from: Int(lenderPeer[slot]), to: Int(job.borrower)),
                       subject: number)
    }

    /// A job waited too long in a line: refused `busy`, it goes back to the pool.
    func lineTimeout(job number: UInt32, ticket: UInt32) {
        let job = jobs[Int(number)]
        guard job.state == .waiting, let held = job.ticket, UInt32(truncatingIfNeeded: held.number) == ticket else { return }
        let slot = Int(job.lender)
        _ = lines[slot].release(held)
        ticketJobs.removeValue(forKey: UInt64(slot) << 32 | UInt64(ticket))
        metrics.classes[Int(peerClass[Int(job.borrower)].rawValue)].refusals += 1
        trace.mixLending(now, UInt64(number) << 32 | UInt64(slot), 4)
        backToPool(number)
    }

    func backToPool(_ number: UInt32) {
        jobs[Int(number)].state = .pending
        jobs[Int(number)].ticket = nil
        jobs[Int(number)].lender = -1
        pool.append(number)
        poolNeedsSort = true
    }

    /// The result reaches the borrower, who countersigns: the receipt's figures (`ReceiptFigures`,
    /// `spec/0017-jobs.md` §4) count as work lender → borrower in the graph.
    func result(job number: UInt32) {
        let job = jobs[Int(number)]
        let slot = Int(job.lender)
        let lender = lenderPeer[slot]
        let wallMilliseconds = Int64((job.coreSeconds / Double(lending.jobCores) * 1000).rounded(.up))
        let accepted = ReceiptFigures.acceptedCoreMilliseconds(
            reported: Int64((job.coreSeconds * 1000).rounded()), cores: lending.jobCores,
            observedWallMilliseconds: wallMilliseconds, budgetCoreSeconds: job.coreSeconds)
        let coreSeconds = Double(accepted) / 1000
        graph.addWork(provider: key(lender, generation[Int(lender)]), consumer: key(job.borrower, job.generation),
                      coreSeconds: coreSeconds, endedAt: Int64(now / 1_000_000))
        jobs[Int(number)].state = .done
        metrics.resultsInFlight -= 1
        metrics.resultsInFlightCoreSeconds -= job.coreSeconds
        metrics.receipts += 1
        metrics.computeReceived += job.coreSeconds
        metrics.receiptCoreSeconds += coreSeconds
        let classIndex = Int(peerClass[Int(job.borrower)].rawValue)
        metrics.classes[classIndex].received += job.coreSeconds
        if job.measured { metrics.classes[classIndex].completed += 1 }
        trace.mixLending(now, UInt64(number) << 32 | UInt64(slot), 5)
        remember(lender: Int32(slot), by: job.borrower, generation: job.generation)
    }

    /// The borrower remembers the lender that served it (the last `known_lenders`).
    private func remember(lender slot: Int32, by peer: UInt32, generation identity: UInt32) {
        guard lending.knownLenders > 0, identity == generation[Int(peer)] else { return }
        var list = known[Int(peer)]
        list.removeAll { $0 == slot }
        list.append(slot)
        if list.count > lending.knownLenders { list.removeFirst(list.count - lending.knownLenders) }
        known[Int(peer)] = list
    }
}

extension TraceHash {
    /// Mixes one event of the lending economy: its time, its subject (`job << 32 | lender`) and
    /// its kind (`spec/0018-lending-simulation.md` §5).
    mutating func mixLending(_ time: UInt64, _ subject: UInt64, _ kind: UInt64) {
        mix(time)
        mix(subject)
        mix(kind)
    }
}
