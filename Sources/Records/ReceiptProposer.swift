// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import PotluckCrypto

/// The provider's side of the receipt exchange (`spec/0011-records.md` §6): it proposes a
/// receipt signed by itself and waits for the countersignature, a refusal or the deadline.
/// Sans-I/O: inputs are messages and `now` (Unix milliseconds), outputs are `ExchangeOutput`s.
public struct ReceiptProposer: Sendable {
    /// Where the exchange stands.
    public enum State: Sendable, Hashable {
        case waiting
        case finished(ExchangeOutcome)
    }

    /// The proposal (signed by the provider).
    public let proposal: Receipt
    /// When the provider gives up waiting, Unix milliseconds.
    public let deadline: Int64
    /// Where the exchange stands.
    public private(set) var state: State = .waiting

    /// Signs `body` with `signer` (which must be its provider); the deadline is `now + timeout`.
    public init(body: ReceiptBody, signer: SigningKey, now: Int64, timeoutMilliseconds: Int64 = 30_000) {
        precondition(signer.publicKey == body.provider, "the provider proposes the receipt")
        proposal = Receipt(body: body).signed(by: signer)
        deadline = now + timeoutMilliseconds
    }

    /// The first message: the proposal.
    public func start() -> [ExchangeOutput] { [.send(.propose(proposal))] }

    /// Handles a message from the consumer. Messages about another receipt, and any message
    /// after the end, are ignored (`[]`).
    public mutating func handle(_ message: ExchangeMessage, now: Int64) -> [ExchangeOutput] {
        guard state == .waiting else { return [] }
        switch message {
        case .propose: return []
        case .refuse(let id, let refusal):
            guard id == proposal.id else { return [] }
            return finish(.refused(refusal))
        case .countersign(let receipt):
            guard receipt.id == proposal.id else { return [] }
            let valid = receipt.providerSignature == proposal.providerSignature
                && (try? receipt.validateComplete()) != nil
            guard valid else {
                return finish(.refused(ExchangeRefusal(.badCountersignature,
                    "the consumer's countersignature does not verify; the receipt stays pending")))
            }
            return finish(.completed(receipt))
        }
    }

    /// Ends the exchange with `timedOut` once `now` reaches the deadline.
    public mutating func tick(now: Int64) -> [ExchangeOutput] {
        guard state == .waiting, now >= deadline else { return [] }
        return finish(.timedOut)
    }

    private mutating func finish(_ outcome: ExchangeOutcome) -> [ExchangeOutput] {
        state = .finished(outcome)
        return [.finished(outcome)]
    }
}

/// The consumer's side of the receipt exchange (§6): it checks a proposal against what it
/// observed and countersigns it, or refuses it with the reason. A repeated proposal (a
/// retransmission) gets the same answer again.
public struct ReceiptCountersigner: Sendable {
    /// Where the exchange stands.
    public enum State: Sendable, Hashable {
        case waiting
        case finished(ExchangeOutcome)
    }

    private let signer: SigningKey
    /// What the consumer observed.
    public let observation: ExchangeObservation
    /// How far the figures may stray.
    public let tolerance: ExchangeTolerance
    /// The pair's sequences this consumer already signed or holds a proposal for (§6.2 rule 6):
    /// ``ReceiptLedger/sequences(provider:consumer:)``.
    public let usedSequences: Set<Int64>
    /// When the consumer stops waiting for a proposal, Unix milliseconds.
    public let deadline: Int64
    /// Where the exchange stands.
    public private(set) var state: State = .waiting
    private var answer: (id: ReceiptID, message: ExchangeMessage)?

    /// A consumer waiting for a proposal until `now + timeout`.
    public init(signer: SigningKey, observation: ExchangeObservation, tolerance: ExchangeTolerance = .init(),
                usedSequences: Set<Int64>, now: Int64, timeoutMilliseconds: Int64 = 30_000) {
        self.signer = signer
        self.observation = observation
        self.tolerance = tolerance
        self.usedSequences = usedSequences
        deadline = now + timeoutMilliseconds
    }

    /// Handles a message from the provider.
    public mutating func handle(_ message: ExchangeMessage, now: Int64) -> [ExchangeOutput] {
        guard case .propose(let receipt) = message, state != .finished(.timedOut) else { return [] }
        if let answer {
            return answer.id == receipt.id ? [.send(answer.message)] : []
        }
        let id = receipt.id
        if let refusal = check(receipt) {
            answer = (id, .refuse(id, refusal))
            state = .finished(.refused(refusal))
            return [.send(.refuse(id, refusal)), .finished(.refused(refusal))]
        }
        let complete = receipt.signed(by: signer)
        answer = (id, .countersign(complete))
        state = .finished(.completed(complete))
        return [.send(.countersign(complete)), .finished(.completed(complete))]
    }

    /// Ends the exchange with `timedOut` if no proposal came before the deadline.
    public mutating func tick(now: Int64) -> [ExchangeOutput] {
        guard state == .waiting, now >= deadline else { return [] }
        state = .finished(.timedOut)
        return [.finished(.timedOut)]
    }

    /// The first failed check of §6.2, in order, or `nil` if the proposal is acceptable: a
    /// consumer that holds its answer (replicas still out) checks the proposal at once.
    public func check(_ receipt: Receipt) -> ExchangeRefusal? {
        let body = receipt.body, seen = observation
        guard body.provider == seen.provider, body.consumer == signer.publicKey else {
            return ExchangeRefusal(.wrongParties, "the receipt must name \(seen.provider.peerID) as provider and this peer as consumer")
        }
        guard receipt.providerSignature != nil, receipt.consumerSignature == nil, (try? receipt.validate()) != nil else {
            return ExchangeRefusal(.badSignature, "the proposal must carry a valid provider signature and no other")
        }
        guard body.jobDigest == seen.jobDigest else {
            return ExchangeRefusal(.wrongJob, "the job digest \(body.jobDigest.hex) is not the job sent (\(seen.jobDigest.hex))")
        }
        let skew = tolerance.timeSkewMilliseconds
        guard abs(body.start - seen.start) <= skew, abs(body.end - seen.end) <= skew else {
            return ExchangeRefusal(.timesDisagree,
                "start \(body.start) and end \(body.end) must be within \(skew) ms of the observed \(seen.start) and \(seen.end)")
        }
        guard within(body.coreMilliseconds, seen.coreMilliseconds),
            within(body.memoryByteSeconds, seen.memoryByteSeconds), within(body.relayedBytes, seen.relayedBytes)
        else {
            return ExchangeRefusal(.usageTooHigh,
                "usage \(body.coreMilliseconds) core-ms, \(body.memoryByteSeconds) byte-s, \(body.relayedBytes) bytes relayed exceeds the observed "
                    + "\(seen.coreMilliseconds) core-ms, \(seen.memoryByteSeconds) byte-s, \(seen.relayedBytes) bytes by more than \(tolerance.usagePermille)‰")
        }
        // Not "above the highest": two jobs of one pair ending together may be proposed in one
        // order and arrive in the other, and both are owed a receipt.
        guard !usedSequences.contains(body.sequence) else {
            return ExchangeRefusal(.sequenceUsed,
                "sequence \(body.sequence) of this pair is already signed or held; propose \((usedSequences.max() ?? 0) + 1)")
        }
        return nil
    }

    /// `claimed ≤ observed × (1000 + permille) / 1000`, without overflow.
    private func within(_ claimed: Int64, _ observed: Int64) -> Bool {
        let limit = observed.multipliedReportingOverflow(by: 1000 + tolerance.usagePermille)
        if limit.overflow { return true }
        let scaled = claimed.multipliedReportingOverflow(by: 1000)
        return !scaled.overflow && scaled.partialValue <= limit.partialValue
    }
}
