// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Jobs
import Lending
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
    var started: UInt64 = 0
    /// Submitted inside the measurement window.
    var measured: Bool
    /// Its lender returned a wrong result (a malicious lender, `spec/0018` §2.5).
    var wrong = false
    /// The number of the group's first job, and which of the group's replicas this is (§2.6):
    /// the job itself and 0 without replication.
    var group: UInt32 = 0
    var replica: UInt8 = 0
    /// When it ends (ns), `.max` while paused; and while paused, the running time it has left
    /// and when its pause began (`spec/0019` §2.4).
    var finishAt: UInt64 = 0
    var remaining: UInt64 = 0
    var pausedAt: UInt64 = 0
    /// It was given back after a pause: its wait was counted at its first start.
    var givenBack = false
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
        // A sybil region borrows under its identities in turn (1…n); its key 0 lends.
        let identity = peerClass[Int(peer)] == .sybil
            ? UInt32(1 + jobs.count % lending.sybilIdentities) : generation[Int(peer)]
        let first = UInt32(jobs.count)
        for replica in 0..<lending.replicas {
            jobs.append(Job(borrower: peer, generation: identity, submitted: now, coreSeconds: size,
                            measured: measured, group: first, replica: UInt8(replica)))
            pool.append(UInt32(jobs.count - 1))
        }
        if lending.replicas > 1 { groups[first] = Array(first..<UInt32(jobs.count)) }
        if measured {
            metrics.classes[Int(peerClass[Int(peer)].rawValue)].submitted += 1
            if circleOf[Int(peer)] >= 0 { metrics.circled.submitted += 1 } else { metrics.uncircled.submitted += 1 }
        }
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

    /// The job reaches its lender: its ``LenderDesk`` — the node's own — checks the policy, then
    /// starts the job or puts it in line.
    func deliver(job number: UInt32) {
        let job = jobs[Int(number)]
        let slot = Int(job.lender)
        incoming[slot] -= 1
        let actions = desks[slot].arrive(UInt64(number), borrower: key(job.borrower, job.generation), digest: Self.digest,
                                         demand: demand(job), conditions: conditions(slot), now: .nanoseconds(now)) {
            guard lending.order != .fifo else { return 0 }
            let trust = lenderTrust(slot: slot, borrower: job.borrower, generation: job.generation)
            let classIndex = Int(peerClass[Int(job.borrower)].rawValue)
            metrics.classes[classIndex].trustAsked += 1
            metrics.classes[classIndex].trustSum += trust
            if trust != 0 { metrics.classes[classIndex].trustKnown += 1 }
            return trust
        }
        // As the node's receipt keeper: what the borrower published counts from the next ranking.
        gather(Self.identity(job.borrower, job.generation), by: Int(lenderPeer[slot]))
        perform(actions, at: slot)
    }

    /// Does what lender `slot`'s desk asks: start jobs, wake it for line deadlines, send refused
    /// jobs back to the pool. A refusal other than `busy` breaks the matcher's promise that the
    /// offer fits, and is counted as a constraint violation.
    func perform(_ actions: [LenderDesk.Action], at slot: Int) {
        for action in actions {
            switch action {
            case .start(let id): start(UInt32(id))
            case .queued(let id, _): jobs[Int(id)].state = .waiting
            case .wake(let id, let at):
                queue.schedule(.lineTimeout, at: Self.nanoseconds(at), subject: UInt32(id), payload: UInt32(slot))
            case .refuse(let id, let refusal):
                let number = UInt32(id)
                if refusal.code == .busy {
                    metrics.classes[Int(peerClass[Int(jobs[Int(number)].borrower)].rawValue)].refusals += 1
                    trace.mixLending(now, UInt64(number) << 32 | UInt64(slot), 4)
                } else if refusal.code.meansCannotLendNow {
                    // Its window closed, or its owner came back, while the job was on its way
                    // (the matcher judged the offer when it sent it): the node's refusal too.
                    metrics.unavailableRefusals += 1
                    trace.mixLending(now, UInt64(number) << 32 | UInt64(slot), 6)
                    if refusal.code == .notIdle { leaveAlone(slot, by: number) }
                } else {
                    metrics.constraintViolations += 1
                }
                backToPool(number)
            case .fetchInputs(let id):
                // Simulated jobs carry no input files.
                perform(desks[slot].inputsArrived(id, now: .nanoseconds(now)) { 0 }, at: slot)
            }
        }
    }

    /// Job `number`'s borrower leaves lender `slot`, whose owner came back, alone for
    /// `owner_back_memory_s`, as the node does (`spec/0017` §3.4).
    func leaveAlone(_ slot: Int, by number: UInt32) {
        let job = jobs[Int(number)], borrower = Int(job.borrower)
        guard lending.ownerBackMemory > 0, job.generation == generation[borrower] else { return }
        ownerBackUntil[borrower] = ownerBackUntil[borrower].filter { $0.value > now }
        ownerBackUntil[borrower][Int32(slot)] = now + Self.nanoseconds(lending.ownerBackMemory)
    }

    /// Lender `slot`'s machine as the desk sees it: the minute of the virtual day (the run starts
    /// at midnight UTC), and whether its owner is using it.
    func conditions(_ slot: Int) -> LenderDesk.Conditions {
        LenderDesk.Conditions(minuteOfDay: Int(now / 60_000_000_000 % 1440),
                              machine: MachineState(idle: !ownerBusy[slot], detail: ownerBusy[slot] ? "the owner is using it" : "idle"))
    }

    /// The owner of idle-only lender `slot` starts (`busy`) or stops using the machine now, for
    /// an exponential time: `owner_busy_mean_s` on average in use, and idle so long that it is in
    /// use `owner_busy` of the time.
    func scheduleOwnerTurn(slot: Int, busy: Bool) {
        accountBesideOwner(slot)
        ownerBusy[slot] = busy
        let share = lending.ownerBusyShare
        let mean = busy ? lending.ownerBusyMean : lending.ownerBusyMean * (1 - share) / max(share, 1e-9)
        let at = now + exponential(mean: mean)
        if at <= end { queue.schedule(.ownerTurn, at: at, subject: UInt32(slot)) }
        observeOwner(slot: slot)
    }

    func ownerTurn(slot: Int) {
        scheduleOwnerTurn(slot: slot, busy: !ownerBusy[slot])
        trace.mixLending(now, UInt64(slot), 7)
    }

    /// Lender `slot`'s offer follows its owner by the node's rule (`BusySignal`, `spec/0011`
    /// §2.2): a change that lasts ``BusySignal/hold`` is published, and borrowers see it at once.
    func observeOwner(slot: Int) {
        guard lending.offerSaysBusy else { return }
        if busySignals[slot].observe(busy: ownerBusy[slot], now: Int64(now / 1_000_000_000)) {
            trace.mixLending(now, UInt64(slot), busySignals[slot].busySince == nil ? 8 : 9)
            metrics.busySignals += 1
            if lending.pauseWhileBusy {
                for number in runningOn[slot] {
                    if busySignals[slot].busySince == nil { resume(number) } else { pause(number) }
                }
            }
        }
        if let at = busySignals[slot].publishesAt, UInt64(at) * 1_000_000_000 <= end {
            queue.schedule(.busySignal, at: max(now, UInt64(at) * 1_000_000_000), subject: UInt32(slot))
        }
    }

    /// The job starts on its lender: its wait ends, its end is scheduled.
    func start(_ number: UInt32) {
        let job = jobs[Int(number)]
        jobs[Int(number)].state = .running
        jobs[Int(number)].started = now
        runningJobs += 1
        accountBesideOwner(Int(job.lender))
        runningOn[Int(job.lender)].append(number)
        let wall = Self.nanoseconds(job.coreSeconds / Double(lending.jobCores))
        let finish = now + max(1, wall)
        jobs[Int(number)].finishAt = finish
        let classIndex = Int(peerClass[Int(job.borrower)].rawValue)
        if job.measured && job.replica == 0 && !job.givenBack {
            let wait = Double(now - job.submitted) / 1e9
            metrics.classes[classIndex].waits.append(wait)
            metrics.classes[classIndex].started += 1
            sampleWaits[classIndex].append(wait)
            if circleOf[Int(job.borrower)] >= 0 {
                metrics.circled.started += 1
                metrics.circled.waitSum += wait
            } else {
                metrics.uncircled.started += 1
                metrics.uncircled.waitSum += wait
            }
            if isFriend(job.borrower, job.generation, of: Int(job.lender)) { metrics.friendStarts += 1 }
        }
        let overlap = min(finish, measureEnd) > max(now, measureStart) ? min(finish, measureEnd) - max(now, measureStart) : 0
        metrics.busyCoreSeconds += Double(overlap) / 1e9 * Double(lending.jobCores)
        trace.mixLending(now, UInt64(number) << 32 | UInt64(job.lender), 2)
        queue.schedule(.finish, at: finish, subject: number)
        // Started from the line while the owner is at the machine: paused from its start.
        if lending.pauseWhileBusy, busySignals[Int(job.lender)].busySince != nil { pause(number) }
    }

    /// The job ends: the line starts who is next; the result travels back to the borrower. An
    /// end that a pause moved (or a give-back cancelled) is stale and does nothing.
    func finish(job number: UInt32) {
        let job = jobs[Int(number)]
        guard job.state == .running, job.finishAt == now else { return }
        let slot = Int(job.lender)
        accountBesideOwner(slot)
        runningOn[slot].removeAll { $0 == number }
        runningJobs -= 1
        jobs[Int(number)].state = .returning
        let lenderClass = Int(peerClass[Int(lenderPeer[slot])].rawValue)
        metrics.classes[lenderClass].given += job.coreSeconds
        metrics.classes[lenderClass].resultsGiven += 1
        if peerClass[Int(lenderPeer[slot])] == .malicious && returnsWrongResult() {
            jobs[Int(number)].wrong = true
            metrics.classes[lenderClass].wrongResultsGiven += 1
        }
        metrics.computeGiven += job.coreSeconds
        metrics.resultsInFlight += 1
        metrics.resultsInFlightCoreSeconds += job.coreSeconds
        trace.mixLending(now, UInt64(number) << 32 | UInt64(slot), 3)
        perform(desks[slot].finished(UInt64(number), now: .nanoseconds(now)), at: slot)
        queue.schedule(.result, at: now + placement.latency(from: Int(lenderPeer[slot]), to: Int(job.borrower)),
                       subject: number)
    }

    /// Whether a malicious lender's result is wrong: always under EigenTrust's model A
    /// (`malicious_honesty` 0), with probability 1 − f under model C. The random source is
    /// drawn only between the two, so a scenario without camouflage keeps its trace.
    private func returnsWrongResult() -> Bool {
        let honesty = lending.maliciousHonesty
        if honesty <= 0 { return true }
        if honesty >= 1 { return false }
        return random.unit() >= honesty
    }

    /// A line deadline of lender `slot` came: its desk refuses the job `busy` if it still waits.
    func lineTimeout(job number: UInt32, slot: UInt32) {
        perform(desks[Int(slot)].tick(UInt64(number), now: .nanoseconds(now)), at: Int(slot))
    }

    func backToPool(_ number: UInt32) {
        jobs[Int(number)].state = .pending
        jobs[Int(number)].lender = -1
        pool.append(number)
        poolNeedsSort = true
    }

    /// The result reaches the borrower. Alone, it is countersigned at once; a replica waits for
    /// its group's other results (`spec/0018` §2.6).
    func result(job number: UInt32) {
        let job = jobs[Int(number)]
        jobs[Int(number)].state = .done
        metrics.resultsInFlight -= 1
        metrics.resultsInFlightCoreSeconds -= job.coreSeconds
        metrics.computeReceived += job.coreSeconds
        metrics.classes[Int(peerClass[Int(job.borrower)].rawValue)].received += job.coreSeconds
        trace.mixLending(now, UInt64(number) << 32 | UInt64(job.lender), 5)
        guard lending.replicas > 1 else {
            countersign(number)
            // Undetected, as on the node: with one replica nothing tells a wrong result from a
            // right one, and the borrower countersigns it like any other (`spec/0018` §2.5).
            complete(number, wrong: job.wrong)
            return
        }
        resultOfReplica(number)
    }

    /// The borrower countersigns job `number`'s receipt: its figures (`ReceiptFigures`,
    /// `spec/0017-jobs.md` §4) count as work lender → borrower in the graph, and the borrower
    /// remembers the lender.
    func countersign(_ number: UInt32) {
        let job = jobs[Int(number)]
        let slot = Int(job.lender)
        let lender = lenderPeer[slot]
        let wallMilliseconds = Int64((job.coreSeconds / Double(lending.jobCores) * 1000).rounded(.up))
        let accepted = ReceiptFigures.acceptedCoreMilliseconds(
            reported: Int64((job.coreSeconds * 1000).rounded()), cores: lending.jobCores,
            observedWallMilliseconds: wallMilliseconds, budgetCoreSeconds: job.coreSeconds)
        let coreSeconds = Double(accepted) / 1000
        record(provider: (lender, generation[Int(lender)]), consumer: (job.borrower, job.generation), coreSeconds: coreSeconds)
        metrics.receipts += 1
        metrics.receiptCoreSeconds += coreSeconds
        remember(lender: Int32(slot), by: job.borrower, generation: job.generation)
    }

    /// The borrower has the job's answer (`wrong` or not): a completed job of its class.
    func complete(_ number: UInt32, wrong: Bool) {
        let job = jobs[Int(number)]
        guard job.measured else { return }
        let classIndex = Int(peerClass[Int(job.borrower)].rawValue)
        metrics.classes[classIndex].completed += 1
        if wrong { metrics.classes[classIndex].wrongResultsReceived += 1 }
    }

    /// The borrower remembers the lender that served it (the last `known_lenders`).
    func remember(lender slot: Int32, by peer: UInt32, generation identity: UInt32) {
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
