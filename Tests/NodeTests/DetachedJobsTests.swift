import Foundation
import Jobs
@testable import Node
import PotluckCrypto
import Records
import Testing

/// What a waiting detached job says (`spec/0019-native-jobs.md` §6.1): why no lender takes it.
@Suite struct DetachedJobsTests {
    func candidate(tools: [String: String], busySince: Int64? = nil) -> OfferCandidate {
        let offer = Offer(lender: SigningKey.generate().publicKey, cores: 2, memoryBytes: 1 << 30, runtimes: [Offer.nativeRuntime], tools: tools,
                          idleOnly: busySince != nil, busySince: busySince, endpoint: "udp://127.0.0.1:1", expiry: Int64.max)
        return OfferCandidate(offer: offer, estimatedRTTMilliseconds: nil, trust: 0)
    }

    @Test func aJobWaitingOnBusyOwnersSaysSoAndOneNobodyLendsForSaysThat() {
        let demand = JobDemand(runtime: Offer.nativeRuntime, tool: "convert", cores: 1, memoryBytes: 1 << 20, coreSeconds: 60, wallSeconds: 60)
        let me = SigningKey.generate().publicKey
        let busy = rankOffers([candidate(tools: ["convert": "7"], busySince: 1), candidate(tools: ["convert": "7"], busySince: 2),
                               candidate(tools: ["ffmpeg": "5"])], for: demand, borrower: me)
        #expect(busy.ranked.isEmpty)
        #expect(DetachedJobs.noLender(of: "convert", ruledOut: busy.ruledOut.map(\.1))
                == "no lender of convert can take this job now (2 ruled out: the lender lends only while idle, and its owner is using it)")
        let none = rankOffers([candidate(tools: ["ffmpeg": "5"])], for: demand, borrower: me)
        #expect(DetachedJobs.noLender(of: "convert", ruledOut: none.ruledOut.map(\.1)) == "no offer lends convert for this job yet")
        #expect(DetachedJobs.noLender(of: "convert", ruledOut: []) == "no offer lends convert for this job yet")
    }
}
