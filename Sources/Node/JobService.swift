import PotluckCrypto
import Foundation
import JobChannel
import Jobs
import Lending
import Logging
import Records
import Sandbox
import Synchronization
import Trust

/// The lender's side of the job protocol (`spec/0017-jobs.md`): for each authenticated
/// connection of the job channel, it reads the job, lets the lender's desk (``LenderDesk``, the
/// sans-I/O core the lending simulator runs too) check it against the policy and place it in
/// line, runs it in the sandbox while streaming stderr and usage, returns the outcome, proposes
/// the receipt and stores it once countersigned. A borrower who disconnects mid-job gets its
/// guest killed.
final class JobService: Sendable {
    let identity: SigningKey
    let configPath: String
    let receipts: ReceiptStore
    let jobs: JobStore
    let runner: SandboxRunner
    /// Native tasks' inputs, by content (`spec/0020-file-transfer.md`).
    let inputStore: InputStore
    /// Serialises input transfers (`receiveInputs`).
    let transfers = AsyncGate()
    let nativeRunner: NativeRunner
    let desk: JobDesk
    let logger: Logger
    /// Where borrowers that ask for work are told to the receipt keeper.
    let askers: Askers
    /// How long the lender waits for the borrower's countersignature.
    let receiptTimeout: Duration = .seconds(30)
    /// How long a new connection (or an asked-for job after `go`) has to send its job.
    let firstMessageTimeout: Duration = .seconds(10)
    /// Bytes of asked-for jobs held at once (`spec/0017` §2.1).
    let receiveBudget: ReceiveBudget
    /// Friends and peers with receipts: never pushed out by strangers (`spec/0015` §3.1).
    let known: KnownPeers
    /// The work graph of the lender's receipts, and the receipts' generation it was built at.
    private let trustGraph = Mutex<(generation: UInt64, snapshot: WorkSnapshot)?>(nil)
    /// Asked-for bytes strangers may send per second, all together (`spec/0017` §2.1).
    let strangerRate = StrangerRate()
    /// The guests running now, paused while an idle-only lender's owner uses the machine or
    /// lending is paused.
    let guests = GuestRoster()

    init(identity: SigningKey, dataDirectory: String, receipts: ReceiptStore, jobs: JobStore, runner: SandboxRunner = SandboxRunner(),
         nativeRunner: NativeRunner = NativeRunner(), askers: Askers = Askers(), logger: Logger) throws(NodeError) {
        self.askers = askers
        receiveBudget = ReceiveBudget()
        known = KnownPeers { (try? receipts.ledger()).map(KnownPeers.peers(in:)) ?? [] }
        self.identity = identity
        configPath = LenderConfig.path(inDataDirectory: dataDirectory)
        inputStore = InputStore(dataDirectory: dataDirectory)
        self.receipts = receipts
        self.jobs = jobs
        self.runner = runner
        self.nativeRunner = nativeRunner
        self.logger = logger
        let policy = try LenderConfig.load(from: configPath).policy()
        desk = JobDesk(policy: policy)
        known.setFriends(policy.friends)
    }

    /// Serves one connection to its end.
    ///
    /// Until the job passes the lender's policy its messages are held to the server's
    /// pre-admission limit (`spec/0015` §5.1): a wasm job larger than that is first *asked*
    /// for, and its bytes come only after `go`, within the lender's receive budget (§2.1).
    func serve(_ connection: SecureConnection) async {
        let inbox = Inbox<JobMessage>()
        let reader = Task { await Self.read(connection, into: inbox) }
        defer { reader.cancel() }
        var first = await inbox.next(timeout: firstMessageTimeout)
        switch first {
        case .ask?, .submit?, .submitTask?:
            // It said what it wants: no longer a connection to drop for a newcomer (`spec/0015` §3.1).
            connection.admit(frameLimit: connection.incomingFrameLimit)
        default: break
        }
        var reserved = 0
        defer { if reserved > 0 { receiveBudget.release(reserved) } }
        if case .ask(let bytes, let cores, let memory, let cpu, let wall)? = first {
            let demand = JobDemand(cores: cores, memoryBytes: memory, coreSeconds: Double(cpu) / 1000, wallSeconds: Double(wall) / 1000)
            if let refusal = await admitAsk(bytes: bytes, demand: demand, on: connection) { return await refuse(connection, refusal) }
            reserved = bytes
            do { try await connection.send(JobMessage.go.encoded()) } catch { return }
            first = await inbox.next(timeout: firstMessageTimeout)
        }
        let submission: Submission, cores: Int
        switch first {
        case .submit(let bytes, let asked)?:
            do {
                let job = try GuestJob(encoded: bytes)
                try job.validate()
                submission = .wasm(job)
            } catch {
                return await refuse(connection, JobRefusal(.badJob, "the job cannot be read: \(error)"))
            }
            cores = asked
        case .submitTask(let bytes, let files, let asked)?:
            do {
                submission = .native(try NativeTask(encoded: bytes), inputs: [:])
                for file in files { try inputStore.put(file) }  // inline inputs, named by their digest
            } catch {
                return await refuse(connection, JobRefusal(.badJob, "the task cannot be read: \(error)"))
            }
            cores = asked
        case nil:
            let reason = inbox.failure ?? "no job arrived within \(firstMessageTimeout)"
            logger.notice("dropped a job connection from \(connection.peer.peerID): \(reason)")
            return await refuse(connection, JobRefusal(.badJob, reason))
        default:
            return await refuse(connection, JobRefusal(.badJob, "the first message must ask for, or submit, a job or a task"))
        }
        await run(submission, cores: cores, for: connection, inbox: inbox, reader: reader)
    }

    /// The lender's policy, the config it comes from (its queue wait, its disk cap), and the
    /// machine's conditions now, or why the lender cannot lend.
    func conditions() async -> Result<(LenderPolicy, LenderDesk.Conditions, LenderConfig), JobRefusal> {
        let policy: LenderPolicy, config: LenderConfig
        do {
            config = try LenderConfig.load(from: configPath)
            policy = try config.policy()
        } catch {
            logger.error("the lender policy cannot be read: \(error)")
            return .failure(JobRefusal(.unavailable, "the lender's policy file is broken; it lends nothing until it is fixed"))
        }
        known.setFriends(policy.friends)
        let paused = LendingPause.isPaused(dataDirectory: (configPath as NSString).deletingLastPathComponent)
        let potluckCores = await desk.coresInUse
        let machine = MachineLoad.current(potluckCores: potluckCores, idleShare: config.idleLoad)
        return .success((policy, LenderDesk.Conditions(minuteOfDay: Self.minuteOfDay(), machine: machine, paused: paused), config))
    }

    /// Why the lender refuses `demand` from `borrower` now, if it does.
    func refusal(of demand: JobDemand, from borrower: PublicKey) async -> JobRefusal? {
        let (policy, conditions): (LenderPolicy, LenderDesk.Conditions)
        switch await self.conditions() {
        case .success(let now): (policy, conditions) = (now.0, now.1)
        case .failure(let refusal): return refusal
        }
        let refusal = await desk.refusal(of: demand, from: borrower, policy: policy, conditions: conditions)
        if let refusal { logger.notice("refused a job from \(borrower.peerID): \(refusal)") }
        return refusal
    }

    private func run(_ job: Submission, cores: Int, for connection: SecureConnection, inbox: Inbox<JobMessage>, reader: Task<Void, Never>) async {
        let borrower = connection.peer
        askers.asked(by: borrower)
        let demand = JobDemand(runtime: job.tool == nil ? "wasm32-wasi" : Offer.nativeRuntime, tool: job.tool, cores: cores, memoryBytes: job.limits.memoryBytes, coreSeconds: job.limits.coreSeconds,
                               wallSeconds: job.limits.wallSeconds)
        let (policy, conditions, config): (LenderPolicy, LenderDesk.Conditions, LenderConfig)
        switch await self.conditions() {
        case .success(let now): (policy, conditions, config) = now
        case .failure(let refusal): return await refuse(connection, refusal)
        }
        // Read: a wasm job's later messages are small (stdin, the receipt), whatever it asked for.
        if job.tool == nil { connection.admit(frameLimit: JobChannelServer.preAdmissionFrameBytes) }
        let id = await desk.newID()
        defer { Task { await desk.release(id) } }
        // A borrower that leaves while its job waits in line gives up its place at once.
        let leaving = Task { [desk] in
            await reader.value
            await desk.borrowerLeft(id)
        }
        defer { leaving.cancel() }
        let onQueued: @Sendable (Int) async -> Void = { position in try? await connection.send(JobMessage.queued(position: position).encoded()) }
        var decision = await desk.arrive(id, borrower: borrower, digest: job.digest, demand: demand, needsInputs: job.tool != nil,
                                         policy: policy, queueWait: config.queueWaitDuration, conditions: conditions, trust: { self.trust(in: borrower, rule: config.lineRule) }, onQueued: onQueued)
        if decision == .fetchInputs, case .native(let task, _) = job {
            // Passed: a native task's inputs come in chunks.
            connection.admit(frameLimit: JobMessage.chunkBytes + 4096)
            if let refusal = await receiveInputs(of: task, from: connection, inbox: inbox, capBytes: config.maxDiskBytes) {
                logger.notice("the inputs of a task from \(borrower.peerID) did not arrive: \(refusal)")
                return await refuse(connection, refusal)
            }
            decision = await desk.inputsArrived(id, trust: { self.trust(in: borrower, rule: config.lineRule) }, onQueued: onQueued)
        }
        guard decision == .start else {
            if case .refused(let refusal) = decision {
                if refusal.code != .busy { logger.notice("refused a job from \(borrower.peerID): \(refusal)") }
                return await refuse(connection, refusal)
            }
            return
        }
        let start = Self.unixMilliseconds()
        try? await connection.send(JobMessage.started.encoded())
        logger.info("running job \(job.digest.hex.prefix(16)) for \(borrower.peerID) on \(cores) core(s)")
        let (outcome, kept, ending) = await sandboxed(job, cores: cores, streamingTo: connection, cancelledBy: reader)
        defer { kept.remove() }
        await desk.release(id)
        let end = Self.unixMilliseconds()
        var record = JobRecord(role: .lent, peer: borrower, jobDigest: job.digest, cores: cores, start: start, end: end,
                               outcome: outcome.summary, exitCode: outcome.exitCode, coreMilliseconds: outcome.cpuMilliseconds, receipt: nil)
        defer { try? jobs.add(record) }
        NodeMetrics.jobEnded(role: .lent, termination: outcome.termination, bytesIn: job.payloadBytes,
                             bytesOut: outcome.resultBytes + Int(kept.files.reduce(0) { $0 + $1.size }))
        switch ending {
        case .abandoned:
            record.outcome = "abandoned: the borrower disconnected (\(outcome.summary))"
            return
        case .givenBack:
            // Paused past the limit: nothing the borrower can use, so no receipt (`spec/0017` §2.3).
            let limit = "\(JobMessage.pauseLimit.components.seconds / 60) min"
            let refusal = JobRefusal(.notIdle, "the lender's owner has needed the machine for \(limit); the job was paused all that time and is given back")
            record.outcome = "given back: \(refusal.reason)"
            logger.notice("gave a job of \(borrower.peerID) back: it was paused for \(limit)")
            return await refuse(connection, refusal)
        case .ran: break
        }
        let files = kept.files.map { OutputFile(name: $0.name, digest: $0.digest, size: $0.size) }
        do { try await connection.send(JobMessage.result(outcome: outcome.encoded(), start: start, end: end, files: files).encoded()) } catch {
            record.outcome = "result not delivered: \(error) (\(outcome.summary))"
            return
        }
        if !files.isEmpty, let failure = await sendOutputs(kept, on: connection, inbox: inbox) {
            // No outputs, no receipt: the borrower got nothing it can use.
            record.outcome = "outputs not delivered: \(failure) (\(outcome.summary))"
            return
        }
        // A module the runtime could not load ran nothing: there is no work to sign for (spec 0017 §4).
        if case .invalidModule = outcome.termination { return }
        record.receipt = await exchangeReceipt(with: borrower, job: job, outcome: outcome, start: start, end: end,
                                               connection: connection, inbox: inbox)
    }

    /// How a guest's run ended, for the lender.
    enum Ending {
        case ran
        /// The borrower's connection dropped and the guest was killed.
        case abandoned
        /// It stayed paused for `JobMessage.pauseLimit` and was killed, to run elsewhere.
        case givenBack
    }

    /// Runs the guest; stderr and usage go to the borrower as they come, and so does each
    /// pause while the owner uses the machine (`spec/0019` §2.4). If the borrower's connection
    /// drops, `reader` ends and the guest is killed; one paused past the limit is killed too.
    private func sandboxed(_ job: Submission, cores: Int, streamingTo connection: SecureConnection,
                           cancelledBy reader: Task<Void, Never>) async -> (outcome: GuestOutcome, kept: KeptOutputs, ending: Ending) {
        let (progress, sink) = AsyncStream.makeStream(of: GuestProgress.self, bufferingPolicy: .bufferingNewest(256))
        let forwarder = Task {
            for await event in progress {
                switch event {
                case .stderr(let bytes): try? await connection.send(JobMessage.stderr(bytes).encoded())
                case .usage(let fuel, let cpu):
                    try? await connection.send(JobMessage.usage(fuelUsed: Int64(clamping: fuel), cpuMilliseconds: cpu).encoded())
                }
            }
        }
        let (key, pause) = guests.add(cores: cores)
        defer { guests.remove(key) }
        let guest = Task { await self.execute(job, cores: cores, pause: pause) { sink.yield($0) } }
        let watcher = Task {
            await reader.value
            guest.cancel()
        }
        let pauses = Task { await self.follow(pause, of: guest, on: connection) }
        let (outcome, kept) = await guest.value
        watcher.cancel()
        pauses.cancel()
        let (givenBack, leftPaused) = await pauses.value
        // The guest went on and ended between two looks: the borrower hears it went on first.
        if leftPaused, !givenBack { try? await connection.send(JobMessage.paused(false).encoded()) }
        sink.finish()
        await forwarder.value
        return (outcome, kept, givenBack ? .givenBack : guest.isCancelled ? .abandoned : .ran)
    }

    /// Tells the borrower each time its guest is paused or goes on, and kills a guest paused
    /// for `JobMessage.pauseLimit`; whether it did, and whether the borrower was last told
    /// "paused".
    private func follow(_ pause: GuestPause, of guest: Task<(GuestOutcome, KeptOutputs), Never>,
                        on connection: SecureConnection) async -> (givenBack: Bool, told: Bool) {
        var told = false, warned = false
        while !Task.isCancelled {
            if pause.isPaused, !pause.isEffective, !warned {
                warned = true
                logger.warning("cannot pause a job of \(connection.peer.peerID) while the owner uses the machine: no cgroup this node may freeze (spec 0019 §2.4); it runs on")
            }
            let paused = pause.pausedFor
            if (paused != nil) != told {
                told = paused != nil
                try? await connection.send(JobMessage.paused(told).encoded())
            }
            if let paused, paused >= JobMessage.pauseLimit {
                guest.cancel()
                return (true, told)
            }
            try? await Task.sleep(for: .seconds(1))
        }
        return (false, told)
    }

    /// Pauses the running guests while lending is paused and lets them go on when it resumes
    /// (`spec/0019` §2.4), saying so when any changed.
    func holdGuests(lendingPaused: Bool) {
        let changed = guests.hold(.lendingPaused, lendingPaused)
        guard changed > 0 else { return }
        logger.notice(lendingPaused
            ? "lending paused: \(changed) running job(s) paused, given back if lending stays paused for \(JobMessage.pauseLimit.components.seconds / 60) min"
            : "lending resumed: \(changed) paused job(s) go on")
    }

    /// Proposes the receipt and stores it once the borrower countersigned; returns its id.
    private func exchangeReceipt(with borrower: PublicKey, job: Submission, outcome: GuestOutcome, start: Int64, end: Int64,
                                 connection: SecureConnection, inbox: Inbox<JobMessage>) async -> Bytes32? {
        // Numbered and stored as pending in one step, under the store's exchange lock: two tasks
        // of one borrower that end together would otherwise read the same ledger and propose the
        // same sequence (`spec/0011` §3.4). The pending proposal is completed by the
        // countersignature, now or later by the DHT.
        var proposer: ReceiptProposer
        do {
            proposer = try receipts.exchanging { step in
                let body = ReceiptBody(
                    provider: identity.publicKey, consumer: borrower, jobDigest: job.digest,
                    coreMilliseconds: outcome.cpuMilliseconds,
                    memoryByteSeconds: ReceiptFigures.memoryByteSeconds(peakMemoryBytes: outcome.peakMemoryBytes,
                                                                        wallMilliseconds: outcome.wallMilliseconds),
                    start: start, end: end, sequence: step.ledger.nextSequence(provider: identity.publicKey, consumer: borrower))
                let proposer = ReceiptProposer(body: body, signer: identity, now: Self.unixMilliseconds(),
                                               timeoutMilliseconds: Int64(receiptTimeout.components.seconds) * 1000)
                try step.add(proposer.proposal)
                return proposer
            }
        } catch {
            logger.error("cannot number the receipt for \(borrower.peerID): \(error)")
            return nil
        }
        do {
            try await connection.send(JobMessage.receipt(.propose(proposer.proposal)).encoded())
        } catch {
            logger.warning("the receipt proposal for \(borrower.peerID) failed: \(error)")
            return nil
        }
        while case .receipt(let message)? = await inbox.next(timeout: receiptTimeout) {
            for output in proposer.handle(message, now: Self.unixMilliseconds()) {
                guard case .finished(let result) = output else { continue }
                switch result {
                case .completed(let receipt):
                    known.add(borrower)
                    do {
                        _ = try receipts.exchanging { try $0.add(receipt) }
                        return receipt.id
                    } catch {
                        logger.error("cannot store the countersigned receipt: \(error)")
                        return nil
                    }
                case .refused(let refusal):
                    logger.notice("\(borrower.peerID) refused the receipt: \(refusal)")
                    return nil
                case .timedOut: return nil
                }
            }
        }
        logger.notice("\(borrower.peerID) did not countersign the receipt of job \(job.digest.hex.prefix(16))")
        return nil
    }

    /// How the lender ranks `borrower` in its line: its rule (`offer.serve`, `spec/0022`, from
    /// the config read for this job) over the flow of work in its own receipts (`spec/0012-trust.md`).
    private func trust(in borrower: PublicKey, rule: LineRule) -> Double {
        guard let snapshot = trustSnapshot() else { return 0 }
        return rule.rank(of: borrower, asSeenBy: identity.publicKey, in: snapshot)
    }

    /// The work graph of the receipts, built again only when a receipt was written since (it
    /// has no decay, so it does not age): 28 ms at 5,000 receipts, for every job in line.
    private func trustSnapshot() -> WorkSnapshot? {
        guard let generation = try? receipts.generation() else { return nil }
        if let kept = trustGraph.withLock({ $0 }), kept.generation == generation { return kept.snapshot }
        guard let ledger = try? receipts.ledger() else { return nil }
        let snapshot = WorkGraph(ledger: ledger).snapshot(now: Self.unixMilliseconds(), halfLifeSeconds: nil)
        trustGraph.withLock { $0 = (generation, snapshot) }
        return snapshot
    }

    private func refuse(_ connection: SecureConnection, _ refusal: JobRefusal) async {
        try? await connection.send(JobMessage.refused(refusal).encoded())
    }

    /// Reads messages into `inbox` (waiting while it is full) until the connection ends; a
    /// frame over the connection's limit or a message this version cannot read ends it too,
    /// and the inbox keeps why.
    private static func read(_ connection: SecureConnection, into inbox: Inbox<JobMessage>) async {
        do {
            while let bytes = try await connection.receive() {
                let message: JobMessage
                do { message = try JobMessage(encoded: bytes) } catch {
                    return inbox.close(failure: "a message could not be read: \(error)")
                }
                await inbox.push(message)
            }
            inbox.close()
        } catch {
            inbox.close(failure: error.code == .frameTooLarge ? error.message : nil)
        }
    }

    static func unixMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    static func minuteOfDay(_ date: Date = Date()) -> Int {
        Int(date.timeIntervalSince1970 / 60) % 1440
    }
}
