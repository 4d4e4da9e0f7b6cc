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

    /// A lender whose owner came back (spec 0017 §3.4) is avoided for ten minutes, then asked
    /// again; the while never shortens an avoidance for good.
    @Test func anOwnerBackAvoidanceEndsAndNeverShortensALongerOne() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("potluck-avoided-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let environment = try Environment(path: path)
        defer { environment.close() }
        let store = try AvoidedLenders(environment: environment)
        let now = Date(timeIntervalSince1970: 1_780_000_000)
        try store.add(honest, reason: AvoidedLenders.ownerBack, for: JobRefusal.ownerBackMemory, now: now)
        try store.add(outvoted, reason: "its result lost a vote", now: now)
        try store.add(outvoted, reason: AvoidedLenders.ownerBack, for: JobRefusal.ownerBackMemory, now: now)
        let avoided = try store.all()
        #expect(avoided[honest]?.until == 1_780_000_600_000)
        #expect(avoided[outvoted] == AvoidedLenders.Entry(since: 1_780_000_000_000, reason: "its result lost a vote"))

        let candidates = [honest, outvoted].map { OfferCandidate(offer: offer($0), estimatedRTTMilliseconds: 1, trust: 0) }
        let demand = JobDemand(cores: 1, memoryBytes: 1 << 20, coreSeconds: 1, wallSeconds: 1)
        let me = SigningKey.generate().publicKey
        let soon = rankOffers(candidates, for: demand, borrower: me, avoided: avoided, now: now.addingTimeInterval(599))
        #expect(soon.ranked.isEmpty)
        #expect(soon.ruledOut.first { $0.0.offer.lender == honest }?.1.hasPrefix("\(AvoidedLenders.ownerBack); asked again from 2026-05-28T") == true)
        let later = rankOffers(candidates, for: demand, borrower: me, avoided: avoided, now: now.addingTimeInterval(600))
        #expect(later.ranked.map(\.offer.lender) == [honest])
    }
}
