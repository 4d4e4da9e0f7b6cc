import PotluckCrypto
@testable import Node
import Testing

/// What strangers can make a lender hold and receive (`spec/0017-jobs.md` §2.1), and whom it
/// knows (`spec/0015` §3.1).
@Suite struct AdmissionBudgetTests {
    @Test func theReceiveBudgetHoldsAtMostItsTotal() {
        let budget = ReceiveBudget()
        #expect(budget.reserve(100, within: 250))
        #expect(budget.reserve(100, within: 250))
        #expect(!budget.reserve(100, within: 250))
        #expect(budget.inUse == 200)
        budget.release(100)
        #expect(budget.reserve(150, within: 250))
        #expect(!budget.reserve(1, within: 250))
    }

    @Test func strangersShareSixteenMiBPerSecondWithBurstsOfThirtyTwo() {
        let rate = StrangerRate()
        let start = ContinuousClock.now
        #expect(rate.take(32 << 20, now: start))
        #expect(!rate.take(1, now: start))
        #expect(!rate.take(16 << 20, now: start + .milliseconds(500)))
        #expect(rate.take(16 << 20, now: start + .seconds(1)))
        #expect(rate.take(32 << 20, now: start + .seconds(10)))
    }

    @Test func friendsAndPeersWithReceiptsAreKnown() {
        let friend = SigningKey.generate().publicKey, old = SigningKey.generate().publicKey
        let new = SigningKey.generate().publicKey, stranger = SigningKey.generate().publicKey
        let known = KnownPeers { [old] }
        known.setFriends([friend])
        #expect(known.contains(friend) && known.contains(old))
        #expect(!known.contains(new) && !known.contains(stranger))
        known.add(new)
        #expect(known.contains(new) && !known.contains(stranger))
    }
}
