import Foundation
@testable import Node
import PotluckCrypto
import Records
import Storage
import Synchronization
import Testing

/// The borrower's answer to a lender's receipt proposals (`spec/0011-records.md` §6.2) on a
/// real LMDB file with real signatures: what is countersigned is stored before it is sent,
/// whatever order two jobs' proposals arrive in, and no sequence is ever signed twice.
@Suite struct BorrowerReceiptTests {
    let lender = SigningKey.generate(), borrower = SigningKey.generate()

    func withClient(_ body: (JobClient) throws -> Void) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("potluck-borrower-receipts-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let environment = try Environment(path: root)
        defer { environment.close() }
        try body(JobClient(identity: borrower, receipts: try ReceiptStore(environment: environment), jobs: nil))
    }

    /// The job `n` as the borrower saw it, and the lender's proposal for it with `sequence`.
    func job(_ n: UInt8, sequence: Int64) -> (ExchangeObservation, ExchangeMessage) {
        let digest = Blake2b.hash256([n])
        let observation = ExchangeObservation(provider: lender.publicKey, jobDigest: digest, start: 1_000_000, end: 1_010_000,
                                              coreMilliseconds: 10_000, memoryByteSeconds: 0)
        let body = ReceiptBody(provider: lender.publicKey, consumer: borrower.publicKey, jobDigest: digest, coreMilliseconds: 10_000,
                               memoryByteSeconds: 0, start: 1_000_000, end: 1_010_000, sequence: sequence)
        return (observation, .propose(Receipt(body: body).signed(by: lender)))
    }

    /// Two tasks end together; the lender numbers them 1 and 2 and proposal 2 arrives first.
    /// Both are countersigned and stored (before the fix, 1 was refused as below the highest).
    @Test func proposalsThatArriveOutOfOrderAreBothCountersigned() throws {
        try withClient { client in
            for (n, sequence) in [(2 as UInt8, 2 as Int64), (1, 1)] {
                let (seen, proposal) = job(n, sequence: sequence)
                let decision = client.decide(proposal, .countersign, observation: seen, now: 1_010_000)
                let receipt = try decision.receipt.get()
                #expect(decision.reply == .countersign(receipt))
                let stored = try client.receipts?.all() ?? []
                #expect(stored.contains(receipt), "sent before it was stored")
            }
            let ledger = try #require(try client.receipts?.ledger())
            #expect(ledger.sequences(provider: lender.publicKey, consumer: borrower.publicKey) == [1, 2])
        }
    }

    /// A lender that gives one number to eight jobs at once (a fork) gets one countersignature:
    /// the check and the write are one step, so the other seven see the number used.
    @Test func oneSequenceIsCountersignedOnceUnderConcurrentExchanges() throws {
        try withClient { client in
            let outcomes = Mutex<[Result<Receipt, JobClient.ReceiptProblem>]>([])
            DispatchQueue.concurrentPerform(iterations: 8) { n in
                let (seen, proposal) = job(UInt8(n), sequence: 7)
                let decision = client.decide(proposal, .countersign, observation: seen, now: 1_010_000)
                outcomes.withLock { $0.append(decision.receipt) }
            }
            let results = outcomes.withLock { $0 }
            #expect(results.count == 8)
            #expect(results.filter { (try? $0.get()) != nil }.count == 1)
            for case .failure(let problem) in results { #expect(problem.description.contains("sequence-used"), "\(problem)") }
            let stored = try client.receipts?.all() ?? []
            #expect(stored.count == 1)
        }
    }

    /// A held proposal (replicas still out) takes its number too: a second job proposed with it
    /// is refused, and the held one is countersigned later.
    @Test func aHeldProposalKeepsItsNumber() throws {
        try withClient { client in
            let (firstSeen, first) = job(1, sequence: 1)
            let held = client.decide(first, .hold, observation: firstSeen, now: 1_010_000)
            #expect(held.reply == nil)
            let proposal = try #require(held.held)
            let (secondSeen, second) = job(2, sequence: 1)
            let refused = client.decide(second, .countersign, observation: secondSeen, now: 1_010_000)
            guard case .refuse(_, let refusal)? = refused.reply else { Issue.record("not refused: \(refused)"); return }
            #expect(refusal.code == .sequenceUsed)
            let complete = try client.countersign(held: proposal).get()
            let stored = try client.receipts?.all() ?? []
            #expect(stored == [complete])
        }
    }
}
