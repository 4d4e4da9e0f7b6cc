import Bencode
import PotluckCrypto
import Foundation
import JobChannel
import Jobs
import Records
import Sandbox

/// The borrower's side of the job protocol (`spec/0017-jobs.md`): it connects to a lender over
/// the job channel, submits the job, follows it, checks the result and countersigns the
/// receipt when its figures match what it saw; it stores the receipt and the job record.
public struct JobClient: Sendable {
    /// Where to send a job.
    public struct Lender: Sendable, Hashable {
        public var key: PublicKey
        public var host: String
        public var port: Int
        /// Whether `host:port` is a relay the lender listens at (`spec/0021-reachability.md` §5).
        public var throughRelay: Bool

        public init(key: PublicKey, host: String, port: Int, throughRelay: Bool = false) {
            self.key = key
            self.host = host
            self.port = port
            self.throughRelay = throughRelay
        }

        /// More relays the lender listens at, tried in order when the first fails (`spec/0021` §5.2).
        public var otherRelays: [Relay] = []

        /// A relay's `HOST:PORT`.
        public struct Relay: Sendable, Hashable {
            public var host: String
            public var port: Int
        }

        /// The lender of `offer`, whose endpoint is `tcp://HOST:PORT`, or one or more
        /// `relay://HOST:PORT` separated by spaces for a lender reached through relays
        /// (`[HOST]:PORT` for IPv6).
        public init(offer: Offer) throws(NodeError) {
            let parsed = try offer.endpoint.split(separator: " ").map { text throws(NodeError) in try Self.parse(String(text)) }
            guard let first = parsed.first, parsed.count == 1 || parsed.allSatisfy(\.relay) else {
                throw NodeError("the offer's endpoint '\(offer.endpoint)' is not tcp://HOST:PORT or relay://HOST:PORT…; the lender runs another Potluck version")
            }
            self.init(key: offer.lender, host: first.host, port: first.port, throughRelay: first.relay)
            otherRelays = parsed.dropFirst().map { Relay(host: $0.host, port: $0.port) }
        }

        private static func parse(_ text: String) throws(NodeError) -> (host: String, port: Int, relay: Bool) {
            let scheme = ["tcp://", "relay://"].first { text.hasPrefix($0) }
            guard let scheme, let split = text.lastIndex(of: ":"), let port = Int(text[text.index(after: split)...]),
                  (1...65535).contains(port), split > text.index(text.startIndex, offsetBy: scheme.count)
            else { throw NodeError("the offer's endpoint '\(text)' is not tcp://HOST:PORT or relay://HOST:PORT; the lender runs another Potluck version") }
            var host = String(text[text.index(text.startIndex, offsetBy: scheme.count)..<split])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            return (host, port, scheme == "relay://")
        }
    }

    /// What happens while a job runs, for a progress line.
    public enum Event: Sendable {
        case connected
        /// Input bytes sent so far because the lender lacked them, of `total` it asked for.
        case sendingInputs(sent: Int64, total: Int64)
        /// Output bytes received so far, of `total` the task's outputs hold.
        case receivingOutputs(received: Int64, total: Int64)
        case queued(position: Int)
        case started
        /// The lender paused the task while its owner uses the machine (`true`), or let it go on.
        case paused(Bool)
        case stderr([UInt8])
        case usage(fuelUsed: Int64, cpuMilliseconds: Int64)
    }

    /// A job that ran.
    public struct Completion: Sendable {
        public var lender: Lender
        public var outcome: GuestOutcome
        /// Unix milliseconds, as the lender reported them.
        public var start: Int64
        public var end: Int64
        /// The receipt both signed, or why there is none.
        public var receipt: Result<Receipt, ReceiptProblem>
        /// Bytes of input files sent because the lender lacked them.
        public var sentInputBytes: Int64 = 0
        /// A native task's output files, verified, by name: each is a file in the directory the
        /// run was given (two names of the same content share one file).
        public var outputFiles: [String: String] = [:]
        /// The digest of each output file received, by name.
        public var outputDigests: [String: Bytes32] = [:]
        /// Bytes of output files received.
        public var receivedOutputBytes: Int64 = 0
        /// How the job channel reached the lender, at the end (`spec/0021` §5–§6).
        public var path: ConnectionPath = .direct
        /// The lender's proposal, checked and kept pending because the judge said `hold`:
        /// ``JobClient/countersign(held:)`` completes it once the replicas are compared.
        public var heldProposal: Receipt?

        /// What replicas of a job compare (`spec/0019-native-jobs.md` §6.2): the outcome's
        /// result digest (`spec/0014` §5.1) and, when files came back by content, BLAKE2b-256
        /// of the bencoded list of that digest and the dictionary of output names to digests.
        public var resultDigest: Bytes32 {
            guard !outputDigests.isEmpty else { return outcome.resultDigest }
            let files = Dictionary(uniqueKeysWithValues: outputDigests.map { (Array($0.key.utf8), BencodeValue.bytes($0.value.bytes)) })
            return Blake2b.hash256(BencodeValue.list([.bytes(outcome.resultDigest.bytes), .dictionary(files)]).encoded())
        }
    }

    /// What the borrower does with the lender's receipt proposal once it has judged the result
    /// (`spec/0019-native-jobs.md` §6.2). A proposal that fails the checks of `spec/0011` §6.2
    /// is refused whatever the judgement.
    public enum Judgement: Sendable, Equatable {
        /// Countersign it: the result is accepted.
        case countersign
        /// Refuse it as `outvoted`, with this reason.
        case refuse(String)
        /// Keep it pending and answer nothing: the replicas are not all back yet.
        case hold
    }

    /// Why a job that ran has no receipt signed by both: the borrower refused the proposal
    /// (its figures disagree with what the borrower saw), or none came, or it could not be stored.
    public struct ReceiptProblem: Error, Sendable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// Why a job did not run.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        case refused(JobRefusal)
        case channel(String)
        case protocolViolation(String)

        public var description: String {
            switch self {
            case .refused(let refusal): "the lender refused the job: \(refusal.reason) (\(refusal.code.rawValue))"
            case .channel(let reason): "the job channel failed: \(reason)"
            case .protocolViolation(let reason): "the lender broke the job protocol: \(reason)"
            }
        }
    }

    let identity: SigningKey
    let receipts: ReceiptStore?
    let jobs: JobStore?

    /// A borrower signing with `identity`; receipts and job records go to the stores if given.
    public init(identity: SigningKey, receipts: ReceiptStore?, jobs: JobStore?) {
        self.identity = identity
        self.receipts = receipts
        self.jobs = jobs
    }

    /// Runs `job` on `lender` with `cores` cores; `events` hears its progress.
    public func run(_ job: GuestJob, cores: Int, on lender: Lender, maxQueueWait: Duration = .seconds(120),
                    events: @escaping @Sendable (Event) -> Void = { _ in }) async throws(Failure) -> Completion {
        try await run(.wasm(job), cores: cores, on: lender, maxQueueWait: maxQueueWait, events: events)
    }

    /// Runs a wasm job or a native task on `lender` with `cores` cores; `events` hears its
    /// progress. A native task's output files arrive in `outputs` (made if need be; the caller
    /// removes it), or a fresh temporary directory when it is `nil`. Once the result and the
    /// lender's proposal are in, `judge` (given the completion without its receipt) says what
    /// to answer; it must do so well within the lender's 30 s wait (`spec/0011` §6.3).
    public func run(_ job: Submission, cores: Int, on lender: Lender, maxQueueWait: Duration = .seconds(120), outputs: String? = nil,
                    events: @escaping @Sendable (Event) -> Void = { _ in },
                    judge: @escaping @Sendable (Completion) async -> Judgement = { _ in .countersign }) async throws(Failure) -> Completion {
        let connection = try await connect(to: lender)
        events(.connected)
        let submitted = Self.unixMilliseconds()
        var completion: Completion
        do {
            completion = try await follow(job, cores: cores, on: lender, connection: connection, maxQueueWait: maxQueueWait,
                                          outputs: outputs, judge: judge, events: events)
        } catch {
            await connection.close()
            NodeMetrics.jobEnded(role: .borrowed, termination: nil, bytesIn: 0, bytesOut: 0)
            record(JobRecord(role: .borrowed, peer: lender.key, jobDigest: job.digest, cores: cores, start: submitted,
                             end: Self.unixMilliseconds(), outcome: "\(error)", exitCode: nil, coreMilliseconds: 0, receipt: nil))
            throw error
        }
        await connection.close()
        completion.path = connection.path
        let receiptID = try? completion.receipt.get().id
        NodeMetrics.jobEnded(role: .borrowed, termination: completion.outcome.termination,
                             bytesIn: completion.outcome.resultBytes + Int(completion.receivedOutputBytes),
                             bytesOut: job.payloadBytes)
        record(JobRecord(role: .borrowed, peer: lender.key, jobDigest: job.digest, cores: cores, start: completion.start,
                         end: completion.end, outcome: completion.outcome.summary, exitCode: completion.outcome.exitCode,
                         coreMilliseconds: completion.outcome.cpuMilliseconds, receipt: receiptID))
        return completion
    }

    /// Opens the job channel to `lender`: directly, or through its relays in turn.
    private func connect(to lender: Lender) async throws(Failure) -> SecureConnection {
        guard lender.throughRelay else {
            do { return try await JobChannelClient.connect(host: lender.host, port: lender.port, identity: identity, expecting: lender.key) } catch {
                throw .channel("\(error)")
            }
        }
        var failures: [String] = []
        for relay in [Lender.Relay(host: lender.host, port: lender.port)] + lender.otherRelays {
            do { return try await JobChannelClient.connect(relay: relay.host, port: relay.port, identity: identity, expecting: lender.key) } catch {
                failures.append("\(error)")
            }
        }
        throw .channel(failures.joined(separator: "; "))
    }

    private func follow(_ job: Submission, cores: Int, on lender: Lender, connection: SecureConnection, maxQueueWait: Duration,
                        outputs: String?, judge: @Sendable (Completion) async -> Judgement,
                        events: @Sendable (Event) -> Void) async throws(Failure) -> Completion {
        var window = RunWindow(sendingAt: Self.unixMilliseconds())
        try await submit(job, cores: cores, on: connection)
        var sent: Int64 = 0
        var paused = false
        while true {
            // A paused task is given back within `JobMessage.pauseLimit` (`spec/0017` §2.3).
            let budget = paused ? JobMessage.pauseLimit + .seconds(30)
                : window.started == nil ? maxQueueWait + .seconds(30) : Self.seconds(job.limits.wallSeconds) + .seconds(30)
            switch try await receive(on: connection, timeout: budget) {
            case .refused(let refusal): throw .refused(refusal)
            case .want(let files):
                window.sending(at: Self.unixMilliseconds())
                sent += try await sendInputs(files, of: job, on: connection, events: events)
            case .queued(let position): events(.queued(position: position))
            case .started:
                window.start(at: Self.unixMilliseconds())
                events(.started)
            case .paused(let on):
                paused = on
                events(.paused(on))
            case .stderr(let bytes): events(.stderr(bytes))
            case .usage(let fuel, let cpu): events(.usage(fuelUsed: fuel, cpuMilliseconds: cpu))
            case .result(let bytes, let start, let end, let files):
                guard let startedAt = window.started else { throw .protocolViolation("a result came before the job started") }
                let outcome: GuestOutcome
                do { outcome = try GuestOutcome(encoded: bytes) } catch { throw .protocolViolation("the outcome cannot be read: \(error)") }
                if case .invalidModule = outcome.termination {
                    // Nothing ran, so the lender proposes no receipt (spec 0017 §4).
                    return Completion(lender: lender, outcome: outcome, start: start, end: end,
                                      receipt: .failure(ReceiptProblem("nothing ran, so nothing to sign")), sentInputBytes: sent)
                }
                let now = Self.unixMilliseconds()
                let observation = ExchangeObservation(
                    provider: lender.key, jobDigest: job.digest, start: startedAt, end: now,
                    coreMilliseconds: ReceiptFigures.acceptedCoreMilliseconds(
                        reported: outcome.cpuMilliseconds, cores: cores, observedWallMilliseconds: window.wallMilliseconds(endingAt: now),
                        budgetCoreSeconds: job.limits.coreSeconds),
                    memoryByteSeconds: ReceiptFigures.acceptedMemoryByteSeconds(
                        reportedPeakBytes: outcome.peakMemoryBytes, limitBytes: job.limits.memoryBytes,
                        wallMilliseconds: outcome.wallMilliseconds))
                var completion = Completion(lender: lender, outcome: outcome, start: start, end: end,
                                            receipt: .failure(ReceiptProblem("the lender proposed no receipt")), sentInputBytes: sent)
                if !files.isEmpty {
                    guard job.tool != nil else { throw .protocolViolation("a wasm job's result named output files") }
                    (completion.outputFiles, completion.receivedOutputBytes) = try await receiveOutputs(files, into: outputs, on: connection, events: events)
                    completion.outputDigests = Dictionary(uniqueKeysWithValues: files.map { ($0.name, $0.digest) })
                }
                let proposal = try? await receive(on: connection, timeout: .seconds(30))
                let judgement = await judge(completion)
                (completion.receipt, completion.heldProposal) = await answer(proposal, judgement, observation: observation, on: connection)
                return completion
            case .ask, .go, .submit, .submitTask, .chunk, .receipt: throw .protocolViolation("unexpected message before the result")
            }
        }
    }

    /// Sends the job's `submit`, first asking whether it may when it is larger than a lender
    /// accepts before admission (`spec/0017-jobs.md` §2.1).
    private func submit(_ job: Submission, cores: Int, on connection: SecureConnection) async throws(Failure) {
        let submit = job.message(cores: cores).encoded()
        if submit.count > JobChannelServer.preAdmissionFrameBytes {
            let limits = job.limits
            try await send(.ask(bytes: submit.count, cores: cores, memoryBytes: limits.memoryBytes,
                                coreMilliseconds: Int64((limits.coreSeconds * 1000).rounded(.up)),
                                wallMilliseconds: Int64((limits.wallSeconds * 1000).rounded(.up))), on: connection)
            switch try await receive(on: connection, timeout: .seconds(60)) {
            case .go: break
            case .refused(let refusal): throw .refused(refusal)
            default: throw .protocolViolation("the lender answered an ask with neither go nor refused")
            }
        }
        do { try await connection.send(submit) } catch { throw .channel("\(error)") }
    }

    /// Streams the input files the lender asked for, from where it holds them up to their end, in
    /// chunks read from disk (`spec/0020-file-transfer.md` §3); the bytes sent.
    private func sendInputs(_ wanted: [Bytes32: Int64], of job: Submission, on connection: SecureConnection,
                            events: (Event) -> Void) async throws(Failure) -> Int64 {
        let files = job.inputFiles
        var sent: Int64 = 0
        let total = wanted.reduce(Int64(0)) { total, entry in
            let size = files[entry.key].flatMap { (try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? NSNumber)?.int64Value } ?? 0
            return total + max(0, size - entry.value)
        }
        for (digest, offset) in wanted.sorted(by: { $0.key.hex < $1.key.hex }) {
            guard let path = files[digest] else {
                throw .protocolViolation("the lender asked for \(digest.hex.prefix(16)), which is not an input of this task")
            }
            do {
                try await FileChunks.send(digest, at: path, from: offset, on: connection) { count in
                    sent += count
                    events(.sendingInputs(sent: sent, total: total))
                }
            } catch {
                if case .file(let reason) = error { throw .protocolViolation("the lender asked for \(digest.hex.prefix(16)) from \(offset): \(reason)") }
                // A lender that refuses the inputs (its `max_disk`) says why, then closes: that
                // reason, not the broken send, is what the borrower should hear.
                if case .refused(let refusal)? = try? await receive(on: connection, timeout: .seconds(2)) { throw .refused(refusal) }
                throw .channel(error.description)
            }
        }
        return sent
    }

    /// Asks for a native task's output files and stores the chunks as they come, each verified
    /// against its digest (`spec/0020-file-transfer.md` §5); the files by name and the bytes received.
    private func receiveOutputs(_ files: [OutputFile], into directory: String?, on connection: SecureConnection,
                                events: (Event) -> Void) async throws(Failure) -> ([String: String], Int64) {
        for file in files where (try? GuestJob.validateFileName(file.name)) == nil {
            throw .protocolViolation("the lender named an output '\(file.name)', which is not a flat file name")
        }
        let store = InputStore(directory: directory ?? (NSTemporaryDirectory() + "/potluck-outputs-" + UUID().uuidString))
        var sizes: [Bytes32: Int64] = [:]
        for file in files {
            guard sizes.updateValue(file.size, forKey: file.digest).map({ $0 == file.size }) ?? true else {
                throw .protocolViolation("the lender gave two sizes for the output \(file.digest.hex.prefix(16))")
            }
        }
        var missing = Set(sizes.keys.filter { !store.has($0) })
        let wanted = Dictionary(uniqueKeysWithValues: missing.map { ($0, store.receivedBytes(of: $0)) })
        let total = wanted.reduce(Int64(0)) { $0 + sizes[$1.key]! - $1.value }
        try await send(.want(wanted), on: connection)
        var received: Int64 = 0
        while !missing.isEmpty {
            guard case .chunk(let digest, let offset, let size, let data) = try await receive(on: connection, timeout: .seconds(60)) else {
                throw .protocolViolation("the lender sent something other than the outputs' chunks")
            }
            guard missing.contains(digest), sizes[digest] == size else {
                throw .protocolViolation("a chunk of \(digest.hex.prefix(16)), which is not a missing output of \(sizes[digest].map(String.init) ?? "any") bytes")
            }
            do {
                if try store.append(data, to: digest, at: offset, size: size) { missing.remove(digest) }
            } catch { throw .protocolViolation("\(error)") }
            received += Int64(data.count)
            events(.receivingOutputs(received: received, total: total))
        }
        return (Dictionary(uniqueKeysWithValues: files.map { ($0.name, store.path(of: $0.digest)) }), received)
    }

    /// Answers the lender's proposal as `judgement` says (`spec/0011-records.md` §6): the
    /// receipt both signed or why there is none, and the proposal if it is held.
    private func answer(_ proposal: JobMessage?, _ judgement: Judgement, observation: ExchangeObservation,
                        on connection: SecureConnection) async -> (Result<Receipt, ReceiptProblem>, Receipt?) {
        guard case .receipt(let message)? = proposal else {
            return (.failure(ReceiptProblem("the lender proposed no receipt")), nil)
        }
        let decision = decide(message, judgement, observation: observation, now: Self.unixMilliseconds())
        if let reply = decision.reply { try? await send(.receipt(reply), on: connection) }
        return (decision.receipt, decision.held)
    }

    /// What the borrower answers a proposal, decided and stored under the receipts' exchange
    /// lock (``ReceiptStore/exchanging(_:)``) before anything is sent: a countersigned receipt
    /// is on disk before the lender can hold it, and two jobs of one lender that end together
    /// are checked one after the other, whichever proposal arrives first.
    struct Decision {
        /// The message for the lender, if any.
        var reply: ExchangeMessage?
        /// The receipt both signed, or why there is none.
        var receipt: Result<Receipt, ReceiptProblem>
        /// The proposal kept pending until the replicas are compared.
        var held: Receipt?
    }

    /// The answer to the lender's `message` under `judgement`, the receipt or held proposal
    /// already stored (`spec/0011-records.md` §6.2).
    func decide(_ message: ExchangeMessage, _ judgement: Judgement, observation: ExchangeObservation, now: Int64) -> Decision {
        do {
            return try withLedger { step in
                var countersigner = ReceiptCountersigner(
                    signer: identity, observation: observation,
                    usedSequences: step.ledger.sequences(provider: observation.provider, consumer: identity.publicKey), now: now)
                if case .propose(let receipt) = message, countersigner.check(receipt) == nil {
                    switch judgement {
                    case .countersign: break
                    case .refuse(let reason):
                        return Decision(reply: .refuse(receipt.id, ExchangeRefusal(.outvoted, reason)),
                                        receipt: .failure(ReceiptProblem("refused (outvoted): \(reason)")))
                    case .hold:
                        // Pending in the ledger, never counted, until `countersign(held:)` completes it.
                        do { try step.add(receipt) } catch {
                            return Decision(receipt: .failure(ReceiptProblem("the proposal could not be kept: \(error)")))
                        }
                        return Decision(receipt: .failure(ReceiptProblem("held until the replicas are compared")), held: receipt)
                    }
                }
                var reply: ExchangeMessage?
                for output in countersigner.handle(message, now: now) {
                    switch output {
                    case .send(let answer): reply = answer
                    case .finished(.completed(let receipt)):
                        do { try step.add(receipt) } catch {
                            return Decision(receipt: .failure(ReceiptProblem("the receipt could not be stored, so it was not sent: \(error)")))
                        }
                        return Decision(reply: reply, receipt: .success(receipt))
                    case .finished(.refused(let refusal)):
                        return Decision(reply: reply, receipt: .failure(ReceiptProblem("refused (\(refusal.code.rawValue)): \(refusal.message)")))
                    case .finished(.timedOut):
                        return Decision(receipt: .failure(ReceiptProblem("the lender proposed no receipt in time")))
                    }
                }
                return Decision(receipt: .failure(ReceiptProblem("the lender's message was not a receipt proposal")))
            }
        } catch {
            return Decision(receipt: .failure(ReceiptProblem("the receipts could not be read: \(error)")))
        }
    }

    /// Countersigns a proposal held until the replicas were compared and stores the receipt
    /// (`spec/0019-native-jobs.md` §6.2). The lender, whose wait has ended, completes its
    /// pending half when it gathers this borrower's receipts (`potluck receipts sync`).
    public func countersign(held proposal: Receipt) -> Result<Receipt, ReceiptProblem> {
        let complete = proposal.signed(by: identity)
        do {
            _ = try withLedger { try $0.add(complete) }
        } catch { return .failure(ReceiptProblem("the receipt could not be stored: \(error)")) }
        return .success(complete)
    }

    /// Runs `body` as one step of the stored receipts' exchange (``ReceiptStore/exchanging(_:)``),
    /// or over an empty ledger, written nowhere, when this borrower keeps no receipts.
    private func withLedger<T: Sendable>(_ body: (inout ReceiptStore.LedgerTransaction) throws -> T) throws -> T {
        guard let receipts else {
            var step = ReceiptStore.LedgerTransaction(ledger: ReceiptLedger())
            return try body(&step)
        }
        return try receipts.exchanging(body)
    }

    private func send(_ message: JobMessage, on connection: SecureConnection) async throws(Failure) {
        do { try await connection.send(message.encoded()) } catch { throw .channel("\(error)") }
    }

    /// The next message, or a failure when the channel ends or stays silent for `timeout`
    /// (a watchdog closes the connection, which ends the pending receive).
    private func receive(on connection: SecureConnection, timeout: Duration) async throws(Failure) -> JobMessage {
        let started = ContinuousClock.now
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            await connection.close()
        }
        defer { watchdog.cancel() }
        let bytes: [UInt8]?
        do { bytes = try await connection.receive() } catch {
            throw .channel(ContinuousClock.now - started >= timeout ? "the lender said nothing for \(timeout)" : "\(error)")
        }
        guard let bytes else { throw .channel("the lender closed the connection") }
        do { return try JobMessage(encoded: bytes) } catch { throw .protocolViolation(error.message) }
    }

    private func record(_ record: JobRecord) {
        try? jobs?.add(record)
    }

    static func unixMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    static func seconds(_ value: Double) -> Duration { .milliseconds(Int64(value * 1000)) }
}
