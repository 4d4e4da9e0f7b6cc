import Foundation
import JobChannel
import Logging
@testable import Node
import PotluckCrypto
import Records
import Storage
import Testing

/// Relaying as a counted gift (spec 0021 §5.5) on real LMDB files and real signatures: the
/// relay's proposal, the lender's check against the bytes it counted, both ledgers.
@Suite struct RelayReceiptBookTests {
    let relayKey = SigningKey.generate(), lenderKey = SigningKey.generate()

    func withBooks(_ body: (_ relay: RelayReceiptBook, _ lender: RelayReceiptBook) throws -> Void) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("potluck-relay-book-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let relayEnvironment = try Environment(path: root + "/relay"), lenderEnvironment = try Environment(path: root + "/lender")
        defer { relayEnvironment.close(); lenderEnvironment.close() }
        let logger = Logger(label: "test")
        try body(RelayReceiptBook(identity: relayKey, receipts: try ReceiptStore(environment: relayEnvironment), logger: logger),
                 RelayReceiptBook(identity: lenderKey, receipts: try ReceiptStore(environment: lenderEnvironment), logger: logger))
    }

    @Test func bothSidesKeepTheReceiptOfTheBytesRelayed() throws {
        try withBooks { relay, lender in
            let now = RelayedCircuit.now()
            let proposal = try #require(relay.proposal(for: RelayedCircuit(circuit: 7, bytes: 3 << 20, start: now - 2000, end: now),
                                                       lender: lenderKey.publicKey))
            // The lender counted the preambles too: a few bytes more than the relay.
            let answer = lender.answer(proposal, seen: RelayedCircuit(circuit: 7, bytes: (3 << 20) + 84, start: now - 2010, end: now + 5))
            guard case .countersigned = answer else { Issue.record("refused: \(answer)"); return }
            relay.answered(answer, by: lenderKey.publicKey)
            for book in [relay, lender] {
                let held = try book.receipts.all()
                #expect(held.count == 1 && held[0].isComplete, "\(held)")
                #expect(held.first?.body.relayedBytes == 3 << 20 && held.first?.body.provider == relayKey.publicKey)
                #expect(held.first?.body.creditCoreSeconds == 3)
                try held.first?.validateComplete()
            }
            // The next circuit takes the next number.
            let next = try Receipt(encoded: try #require(relay.proposal(for: RelayedCircuit(circuit: 8, bytes: 1, start: now, end: now),
                                                                       lender: lenderKey.publicKey)))
            #expect(next.body.sequence == 2)
        }
    }

    @Test func aLenderRefusesMoreBytesThanItCountedOrAnotherCircuit() throws {
        try withBooks { relay, lender in
            let now = RelayedCircuit.now()
            let greedy = try #require(relay.proposal(for: RelayedCircuit(circuit: 9, bytes: 10 << 20, start: now, end: now), lender: lenderKey.publicKey))
            let refused = lender.answer(greedy, seen: RelayedCircuit(circuit: 9, bytes: 1 << 20, start: now, end: now))
            guard case .refused(let why) = refused else { Issue.record("countersigned a claim ten times the bytes counted"); return }
            #expect(why.hasPrefix("usage-too-high"), "\(why)")
            let elsewhere = lender.answer(greedy, seen: RelayedCircuit(circuit: 10, bytes: 10 << 20, start: now, end: now))
            guard case .refused(let reason) = elsewhere else { Issue.record("countersigned another circuit's receipt"); return }
            #expect(reason.hasPrefix("wrong-job"), "\(reason)")
            relay.answered(refused, by: lenderKey.publicKey)
            #expect(try relay.receipts.all().allSatisfy { !$0.isComplete } && lender.receipts.all().isEmpty)
        }
    }
}
