import PotluckCrypto
import Records
import Testing

@Suite("receipt ledger (spec/0011-records.md §4)")
struct LedgerTests {
    let provider = key(Seeds.provider), consumer = key(Seeds.consumer), other = key(Seeds.other)

    func body(_ sequence: Int64, core: Int64 = 1000, from p: SigningKey? = nil, to c: SigningKey? = nil) -> ReceiptBody {
        ReceiptBody(provider: (p ?? provider).publicKey, consumer: (c ?? consumer).publicKey,
                    jobDigest: Blake2b.hash256([UInt8(sequence)]), coreMilliseconds: core, memoryByteSeconds: 0,
                    start: 1000 * sequence, end: 1000 * sequence + 500, sequence: sequence)
    }

    @Test func theNextSequenceStepsOverPendingProposals() throws {
        var ledger = ReceiptLedger()
        #expect(ledger.nextSequence(provider: provider.publicKey, consumer: consumer.publicKey) == 1)
        try ledger.insert(Receipt(body: body(1)).signed(by: provider).signed(by: consumer))
        try ledger.insert(Receipt(body: body(2)).signed(by: provider))
        #expect(ledger.highestSequence(provider: provider.publicKey, consumer: consumer.publicKey) == 1)
        #expect(ledger.nextSequence(provider: provider.publicKey, consumer: consumer.publicKey) == 3)
        #expect(ledger.nextSequence(provider: consumer.publicKey, consumer: provider.publicKey) == 1)
    }

    /// The used sequences a consumer checks a proposal against (§6.2 rule 6): the pair's
    /// complete and pending receipts, gaps left open, the other direction and pairs apart.
    @Test func theUsedSequencesAreThePairsCompleteAndPendingOnes() throws {
        var ledger = ReceiptLedger()
        try ledger.insert(Receipt(body: body(1)).signed(by: provider).signed(by: consumer))
        try ledger.insert(Receipt(body: body(4)).signed(by: provider).signed(by: consumer))
        try ledger.insert(Receipt(body: body(3)).signed(by: provider))
        try ledger.insert(Receipt(body: body(2, from: consumer, to: provider)).signed(by: consumer).signed(by: provider))
        try ledger.insert(Receipt(body: body(5, to: other)).signed(by: provider).signed(by: other))
        #expect(ledger.sequences(provider: provider.publicKey, consumer: consumer.publicKey) == [1, 3, 4])
        #expect(ledger.sequences(provider: consumer.publicKey, consumer: provider.publicKey) == [2])
        #expect(ledger.sequences(provider: other.publicKey, consumer: consumer.publicKey) == [])
    }

    @Test func receiptsReadBackFromTheStoreSkipSignaturesButNotReplayOrForkChecks() throws {
        var ledger = ReceiptLedger()
        let complete = Receipt(body: body(1)).signed(by: provider).signed(by: consumer)
        #expect(try ledger.insert(complete, signaturesVerified: true) == .complete)
        #expect(throws: RecordError.self) { try ledger.insert(complete, signaturesVerified: true) }
        let fork = Receipt(body: body(1, core: 5)).signed(by: provider).signed(by: consumer)
        #expect(throws: RecordError.self) { try ledger.insert(fork, signaturesVerified: true) }
        // Without the flag, a receipt whose signatures do not match its body is refused.
        var tampered = Receipt(body: body(2)).signed(by: provider).signed(by: consumer)
        tampered.body.coreMilliseconds += 1
        var fresh = ReceiptLedger()
        #expect(throws: RecordError.self) { try fresh.insert(tampered) }
    }

    @Test func pendingReceiptsAreKeptApartUntilTheOtherSignatureArrives() throws {
        var ledger = ReceiptLedger()
        let b = body(1)
        let half = Receipt(body: b).signed(by: provider)
        #expect(try ledger.insert(half) == .pending)
        #expect(ledger.count == 0 && ledger.pendingCount == 1)
        #expect(ledger.receipts(involving: provider.publicKey).isEmpty)
        #expect(throws: RecordError.self) { try ledger.insert(half) }
        let otherHalf = Receipt(body: b).signed(by: consumer)
        #expect(try ledger.insert(otherHalf) == .completedPending)
        #expect(ledger.count == 1 && ledger.pendingCount == 0)
        #expect(ledger.receipt(id: b.id)?.isComplete == true)
        #expect(ledger.highestSequence(provider: provider.publicKey, consumer: consumer.publicKey) == 1)
        #expect(ledger.highestSequence(provider: consumer.publicKey, consumer: provider.publicKey) == 0)
    }

    @Test func gapsAreAllowedAndTheIndexFindsEveryParty() throws {
        var ledger = ReceiptLedger()
        let a = Receipt(body: body(5)).signed(by: provider).signed(by: consumer)
        let b = Receipt(body: body(2)).signed(by: provider).signed(by: consumer)
        let c = Receipt(body: body(1, from: other, to: consumer)).signed(by: other).signed(by: consumer)
        for r in [a, b, c] { #expect(try ledger.insert(r) == .complete) }
        #expect(ledger.receipts(involving: consumer.publicKey).map(\.body.sequence) == [1, 2, 5])
        #expect(ledger.receipts(involving: provider.publicKey).map(\.body.sequence) == [2, 5])
        #expect(ledger.receipts(involving: other.publicKey) == [c])
        #expect(ledger.highestSequence(provider: provider.publicKey, consumer: consumer.publicKey) == 5)
        #expect(ledger.completeReceipts.count == 3)
    }

    @Test func theOppositeDirectionHasItsOwnCounter() throws {
        var ledger = ReceiptLedger()
        try ledger.insert(Receipt(body: body(1)).signed(by: provider).signed(by: consumer))
        let back = Receipt(body: body(1, from: consumer, to: provider)).signed(by: consumer).signed(by: provider)
        #expect(try ledger.insert(back) == .complete)
    }

    @Test func aCompleteReceiptReplacesAConflictingPendingOne() throws {
        var ledger = ReceiptLedger()
        try ledger.insert(Receipt(body: body(1, core: 5)).signed(by: provider))
        let agreed = Receipt(body: body(1, core: 4)).signed(by: provider).signed(by: consumer)
        #expect(try ledger.insert(agreed) == .completedPending)
        #expect(ledger.pendingCount == 0 && ledger.completeReceipts == [agreed])
        let error = #expect(throws: RecordError.self) {
            try ledger.insert(Receipt(body: body(1, core: 5)).signed(by: provider))
        }
        #expect(error?.code == .forked)
    }

    @Test func badReceiptsLeaveTheLedgerUnchanged() throws {
        var ledger = ReceiptLedger()
        var bad = Receipt(body: body(1)).signed(by: provider).signed(by: consumer)
        bad.body.memoryByteSeconds = 1
        let error = #expect(throws: RecordError.self) { try ledger.insert(bad) }
        #expect(error?.code == .tampered)
        #expect(ledger.count == 0 && ledger.pendingCount == 0)
    }

    @Test func encodingRoundTripsPendingAndComplete() throws {
        let half = Receipt(body: body(3)).signed(by: consumer)
        #expect(try Receipt(encoded: half.encoded()) == half)
        #expect(half.encoded().count < 250)
        let whole = half.signed(by: provider)
        #expect(try Receipt(encoded: whole.encoded()) == whole)
        #expect(whole.encoded().count < 350)
    }
}
