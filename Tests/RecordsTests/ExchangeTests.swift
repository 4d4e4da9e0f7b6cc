import PotluckCrypto
import Records
import Testing

@Suite("receipt exchange (spec/0011-records.md §6)")
struct ExchangeTests {
    let provider = key(Seeds.provider), consumer = key(Seeds.consumer)
    let digest = Blake2b.hash256(Array("job".utf8))

    var body: ReceiptBody {
        ReceiptBody(provider: provider.publicKey, consumer: consumer.publicKey, jobDigest: digest,
                    coreMilliseconds: 10_000, memoryByteSeconds: 5_000, start: 1_000_000, end: 1_010_000, sequence: 4)
    }

    func countersigner(used: Set<Int64> = [1, 3], observedCore: Int64 = 10_000) -> ReceiptCountersigner {
        ReceiptCountersigner(
            signer: consumer,
            observation: ExchangeObservation(provider: provider.publicKey, jobDigest: digest, start: 1_000_500,
                                             end: 1_009_000, coreMilliseconds: observedCore, memoryByteSeconds: 5_000),
            usedSequences: used, now: 1_010_000)
    }

    @Test func bothSidesCompleteWithTheSameReceipt() throws {
        var proposer = ReceiptProposer(body: body, signer: provider, now: 1_010_000)
        var signer = countersigner()
        let first = proposer.start()
        #expect(first == [.send(.propose(proposer.proposal))])
        guard case .send(let proposal) = first[0] else { Issue.record("no proposal"); return }
        let expected = Receipt(body: body).signed(by: provider).signed(by: consumer)
        #expect(signer.handle(proposal, now: 1_010_100) == [.send(.countersign(expected)), .finished(.completed(expected))])
        #expect(proposer.handle(.countersign(expected), now: 1_010_200) == [.finished(.completed(expected))])
        #expect(proposer.state == .finished(.completed(expected)))
        try expected.validateComplete()
        // A retransmitted proposal gets the same answer; late messages are ignored.
        #expect(signer.handle(proposal, now: 1_010_300) == [.send(.countersign(expected))])
        #expect(proposer.handle(.countersign(expected), now: 1_010_400) == [])
        #expect(proposer.tick(now: 9_999_999) == [])
    }

    static func change(_ code: String, _ b: inout ReceiptBody) {
        switch code {
        case "wrong-job": b.jobDigest = Blake2b.hash256([1])
        case "times-disagree": b.end += 6_001
        case "usage-too-high": b.coreMilliseconds = 11_001
        case "sequence-used": b.sequence = 3
        default: b.consumer = key(Seeds.other).publicKey
        }
    }

    /// A job's consumer saw no relayed bytes, so a job receipt that claims some is refused; a
    /// lender that counted bytes through a relay accepts a claim up to 10% over its count.
    @Test func relayedBytesAreCheckedLikeUsage() {
        var claiming = body
        claiming.relayedBytes = 1
        var job = countersigner()
        #expect(job.handle(.propose(Receipt(body: claiming).signed(by: provider)), now: 0).contains {
            if case .finished(.refused(let refusal)) = $0 { return refusal.code == .usageTooHigh } else { return false }
        })
        for (claimed, accepted) in [(1_100_000 as Int64, true), (1_100_001, false)] {
            var relayed = body
            relayed.coreMilliseconds = 0
            relayed.memoryByteSeconds = 0
            relayed.relayedBytes = claimed
            var lender = ReceiptCountersigner(
                signer: consumer,
                observation: ExchangeObservation(provider: provider.publicKey, jobDigest: digest, start: 1_000_000, end: 1_010_000,
                                                 coreMilliseconds: 0, memoryByteSeconds: 0, relayedBytes: 1_000_000),
                usedSequences: [3], now: 1_010_000)
            let outputs = lender.handle(.propose(Receipt(body: relayed).signed(by: provider)), now: 1_010_000)
            #expect(outputs.contains { if case .finished(.completed) = $0 { true } else { false } } == accepted, "\(claimed): \(outputs)")
        }
    }

    @Test(arguments: ["wrong-job", "times-disagree", "usage-too-high", "sequence-used", "wrong-parties"])
    func refusalsSayWhy(_ code: String) {
        var changed = body
        Self.change(code, &changed)
        let proposal = Receipt(body: changed).signed(by: provider)
        var signer = countersigner()
        let outputs = signer.handle(.propose(proposal), now: 0)
        guard outputs.count == 2, case .send(.refuse(let id, let refusal)) = outputs[0] else {
            Issue.record("expected a refusal, got \(outputs)"); return
        }
        #expect(id == proposal.id)
        #expect(refusal.code.rawValue == code)
        #expect(outputs[1] == .finished(.refused(refusal)))

        var proposer = ReceiptProposer(body: changed, signer: provider, now: 0)
        #expect(proposer.handle(.refuse(id, refusal), now: 1) == [.finished(.refused(refusal))])
    }

    /// Two jobs of one pair end together: the provider proposes 4 then 5, and 5 arrives first.
    /// Once 5 is countersigned, 4 is still owed its receipt (§6.2 rule 6); 5 again is not.
    @Test func aLowerSequenceThatArrivesLateIsCountersigned() {
        var late = body
        late.sequence = 4
        var afterFive = countersigner(used: [1, 3, 5])
        let outputs = afterFive.handle(.propose(Receipt(body: late).signed(by: provider)), now: 0)
        #expect(outputs.last == .finished(.completed(Receipt(body: late).signed(by: provider).signed(by: consumer))))
        var again = body
        again.sequence = 5
        #expect(countersigner(used: [1, 3, 5]).check(Receipt(body: again).signed(by: provider))?.code == .sequenceUsed)
    }

    @Test func underClaimsAndToleratedFiguresAreCountersigned() {
        var cheaper = body
        cheaper.coreMilliseconds = 1
        cheaper.start -= 4_500
        var signer = countersigner()
        let outputs = signer.handle(.propose(Receipt(body: cheaper).signed(by: provider)), now: 0)
        #expect(outputs.count == 2)
        if case .finished(.completed(let receipt)) = outputs.last { #expect(receipt.isComplete) } else { Issue.record("not completed") }
        // 11 000 core-ms is exactly 10% above 10 000: still accepted.
        var edge = body
        edge.coreMilliseconds = 11_000
        var second = countersigner()
        #expect(second.handle(.propose(Receipt(body: edge).signed(by: provider)), now: 0).count == 2)
        #expect(second.state != .waiting)
    }

    @Test func aForgedOrMissingProviderSignatureIsRefused() {
        var signer = countersigner()
        let forged = Receipt(body: body, providerSignature: key(Seeds.other).sign(body.signedBytes))
        let outputs = signer.handle(.propose(forged), now: 0)
        #expect(outputs.first.map { if case .send(.refuse(_, let r)) = $0 { r.code == .badSignature } else { false } } == true)
    }

    @Test func aBadCountersignatureLeavesTheReceiptPending() {
        var proposer = ReceiptProposer(body: body, signer: provider, now: 0)
        var fake = proposer.proposal
        fake.consumerSignature = key(Seeds.other).sign(body.signedBytes)
        let outputs = proposer.handle(.countersign(fake), now: 1)
        guard case .finished(.refused(let refusal)) = outputs.first else { Issue.record("\(outputs)"); return }
        #expect(refusal.code == .badCountersignature)
    }

    @Test func silenceEndsInATimeout() {
        var proposer = ReceiptProposer(body: body, signer: provider, now: 0, timeoutMilliseconds: 100)
        #expect(proposer.tick(now: 99) == [])
        #expect(proposer.tick(now: 100) == [.finished(.timedOut)])
        var signer = countersigner()
        #expect(signer.tick(now: 1_010_000 + 29_999) == [])
        #expect(signer.tick(now: 1_010_000 + 30_000) == [.finished(.timedOut)])
        #expect(signer.handle(.propose(proposer.proposal), now: 1_040_001) == [])
    }

    @Test func messagesAboutAnotherReceiptAreIgnored() {
        var proposer = ReceiptProposer(body: body, signer: provider, now: 0)
        var other = body
        other.sequence = 9
        let stranger = Receipt(body: other).signed(by: provider).signed(by: consumer)
        #expect(proposer.handle(.countersign(stranger), now: 1) == [])
        #expect(proposer.handle(.refuse(stranger.id, .init(.wrongJob, "x")), now: 1) == [])
        #expect(proposer.state == .waiting)
    }
}
