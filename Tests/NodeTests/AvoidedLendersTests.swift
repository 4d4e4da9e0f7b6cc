import Foundation
import Jobs
@testable import Node
import PotluckCrypto
import Records
import Storage
import Testing

/// Avoided lenders (spec 0019 §6.3) in a real LMDB file: kept across openings, ruled out by
/// the matcher with the reason, forgotten on request.
@Suite struct AvoidedLendersTests {
    let honest = SigningKey.generate().publicKey, outvoted = SigningKey.generate().publicKey

    func offer(_ lender: PublicKey) -> Offer {
        Offer(lender: lender, cores: 2, memoryBytes: 1 << 30, runtimes: ["wasm32-wasi"], endpoint: "tcp://127.0.0.1:7000",
              expiry: Int64(Date().timeIntervalSince1970) + 3600)
    }

    @Test func anAvoidedLenderIsRuledOutWithItsReasonUntilForgotten() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("potluck-avoided-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let since = Date(timeIntervalSince1970: 1_780_000_000)
        do {
            let environment = try Environment(path: path)
            defer { environment.close() }
            try AvoidedLenders(environment: environment).add(outvoted, reason: "its result lost a vote", now: since)
        }
        let environment = try Environment(path: path)
        defer { environment.close() }
        let store = try AvoidedLenders(environment: environment)
        let avoided = try store.all()
        #expect(avoided == [outvoted: AvoidedLenders.Entry(since: 1_780_000_000_000, reason: "its result lost a vote")], "kept across openings")

        let candidates = [honest, outvoted].map { OfferCandidate(offer: offer($0), estimatedRTTMilliseconds: 1, trust: 0) }
        let demand = JobDemand(cores: 1, memoryBytes: 1 << 20, coreSeconds: 1, wallSeconds: 1)
        let (ranked, ruledOut, _) = rankOffers(candidates, for: demand, borrower: SigningKey.generate().publicKey, avoided: avoided)
        #expect(ranked.map(\.offer.lender) == [honest])
        #expect(ruledOut.map(\.0.offer.lender) == [outvoted])
        #expect(ruledOut.first?.1 == "you avoid this lender since 2026-05-28: its result lost a vote ('potluck avoid forget \(outvoted.peerID)' to use it again)")

        #expect(try store.forget(outvoted))
        #expect(try !store.forget(outvoted), "forgetting twice says it was not avoided")
        #expect(try store.all().isEmpty)
    }
}
