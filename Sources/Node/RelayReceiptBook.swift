import JobChannel
import Logging
import PotluckCrypto
import Records
import Synchronization

/// Relaying as a gift the community sees (`spec/0021-reachability.md` §5.5), both sides, on the
/// node's own ledger: a relay proposes a receipt for the bytes it relayed for a lender (provider
/// the relay, consumer the lender, `relayedBytes` the bytes, no CPU), and the lender
/// countersigns it when the bytes are within what it counted itself (`spec/0011` §6.2). Trust
/// counts them like compute (`ReceiptBody.creditCoreSeconds`).
final class RelayReceiptBook: RelayLedger {
    let identity: SigningKey
    let receipts: ReceiptStore
    let logger: Logger
    /// Proposals waiting for the lender's countersignature.
    private let pending = Mutex<Set<ReceiptID>>([])

    init(identity: SigningKey, receipts: ReceiptStore, logger: Logger) {
        self.identity = identity
        self.receipts = receipts
        self.logger = logger
    }

    func proposal(for circuit: RelayedCircuit, lender: PublicKey) -> [UInt8]? {
        do {
            let proposal = try receipts.exchanging { step in
                let body = ReceiptBody(
                    provider: identity.publicKey, consumer: lender, jobDigest: circuit.digest, coreMilliseconds: 0, memoryByteSeconds: 0,
                    start: circuit.start, end: max(circuit.start, circuit.end),
                    sequence: step.ledger.nextSequence(provider: identity.publicKey, consumer: lender), relayedBytes: circuit.bytes)
                let proposal = Receipt(body: body).signed(by: identity)
                try step.add(proposal)  // pending until countersigned, never counted
                return proposal
            }
            pending.withLock { pending in
                if pending.count >= 1024 { pending.removeAll() }
                pending.insert(proposal.id)
            }
            return proposal.encoded()
        } catch {
            logger.error("cannot propose a receipt for \(circuit.bytes) bytes relayed for \(lender.peerID): \(error)")
            return nil
        }
    }

    func answered(_ answer: RelayReceiptAnswer, by lender: PublicKey) {
        switch answer {
        case .refused(let reason):
            logger.notice("\(lender.peerID) refused the receipt for the bytes relayed: \(reason)")
        case .countersigned(let bytes):
            guard let receipt = try? Receipt(encoded: bytes), receipt.body.consumer == lender,
                  pending.withLock({ $0.remove(receipt.id) }) != nil else {
                return logger.notice("\(lender.peerID) sent back a receipt this relay did not propose")
            }
            do {
                _ = try receipts.exchanging { try $0.add(receipt) }
                logger.info("relayed \(receipt.body.relayedBytes) bytes for \(lender.peerID): receipt \(receipt.id.hex.prefix(16)) signed by both")
            } catch {
                logger.notice("the countersigned receipt for the bytes relayed for \(lender.peerID) was not stored: \(error)")
            }
        }
    }

    func relayedBytes(in receipt: [UInt8]) -> Int64 {
        (try? Receipt(encoded: receipt))?.body.relayedBytes ?? 0
    }

    func answer(_ proposal: [UInt8], seen: RelayedCircuit) -> RelayReceiptAnswer {
        let receipt: Receipt
        do { receipt = try Receipt(encoded: proposal) } catch { return .refused("not a receipt: \(error)") }
        do {
            return try receipts.exchanging { step in
                let relay = receipt.body.provider
                var countersigner = ReceiptCountersigner(
                    signer: identity,
                    observation: ExchangeObservation(provider: relay, jobDigest: seen.digest, start: seen.start, end: seen.end,
                                                     coreMilliseconds: 0, memoryByteSeconds: 0, relayedBytes: seen.bytes),
                    usedSequences: step.ledger.sequences(provider: relay, consumer: identity.publicKey), now: RelayedCircuit.now())
                for output in countersigner.handle(.propose(receipt), now: RelayedCircuit.now()) {
                    switch output {
                    case .finished(.completed(let complete)):
                        try step.add(complete)  // stored before the answer leaves
                        return .countersigned(complete.encoded())
                    case .finished(.refused(let refusal)):
                        logger.notice("refused the relay's receipt for \(seen.bytes) bytes relayed: \(refusal)")
                        return .refused("\(refusal.code.rawValue): \(refusal.message)")
                    default: continue
                    }
                }
                return .refused("no answer")
            }
        } catch {
            return .refused("the lender could not store the receipt: \(error)")
        }
    }
}
