// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Lending
import PotluckCrypto
import Testing
import Trust

/// The community's rule for a busy lender's line (`spec/0022-line-rule.md`): Potluck's rule
/// never ranks anyone below a fresh identity, and ranks a peer that gave work above one that
/// never did; the net flow rule does neither.
@Suite struct LineRuleTests {
    static func peer(_ n: UInt8) -> PublicKey { PublicKey(raw: Bytes32([UInt8](repeating: n, count: 32))!) }

    static let lender = peer(1), giverInDebt = peer(2), freeRider = peer(3), stranger = peer(4), generous = peer(5)

    /// The lender served a peer 3 core-hours that gave it 1; served a free rider 1 core-hour;
    /// a generous peer gave it 2 core-hours; a stranger it never met.
    static var snapshot: WorkSnapshot {
        var graph = WorkGraph()
        graph.addWork(provider: lender, consumer: giverInDebt, coreSeconds: 3 * 3600, endedAt: 1000)
        graph.addWork(provider: giverInDebt, consumer: lender, coreSeconds: 3600, endedAt: 1000)
        graph.addWork(provider: lender, consumer: freeRider, coreSeconds: 3600, endedAt: 1000)
        graph.addWork(provider: generous, consumer: lender, coreSeconds: 2 * 3600, endedAt: 1000)
        return graph.snapshot(now: 2000)
    }

    static func ranks(_ order: LineRule.Order) -> [PublicKey: Double] {
        let rule = LineRule(order: order)
        return Dictionary(uniqueKeysWithValues: [giverInDebt, freeRider, stranger, generous].map {
            ($0, rule.rank(of: $0, asSeenBy: lender, in: snapshot))
        })
    }

    @Test func potluckNeverRanksAGiverBelowAStrangerNorAFreshIdentityAboveAnyone() {
        let rank = Self.ranks(.potluck)
        #expect(rank[Self.stranger] == 0)
        #expect(rank[Self.freeRider] == 0, "a whitewasher's fresh identity gains nothing over its old one")
        #expect(rank[Self.giverInDebt]! > rank[Self.stranger]!, "a peer that gave work ranks above one that never did")
        #expect(rank[Self.generous]! > rank[Self.giverInDebt]!)
        #expect(rank[Self.giverInDebt]! < LineRule.defaultGaveWeight, "what it gave only breaks ties")
    }

    @Test func netFlowTrustPutsAGiverInDebtBelowAStranger() {
        let rank = Self.ranks(.trust)
        #expect(rank[Self.giverInDebt]! < rank[Self.stranger]!)
        #expect(rank[Self.freeRider]! < rank[Self.stranger]!, "a free rider gains by taking a fresh identity")
        #expect(rank[Self.generous]! > 0)
        #expect(Self.ranks(.fifo).values.allSatisfy { $0 == 0 })
    }

    /// The tie weight is a parameter: at 0 a giver in debt ties a stranger; larger, it counts more.
    @Test func theTieWeightIsAParameter() {
        let inDebt = FlowScore(given: 3600, received: 10800)
        #expect(LineRule(order: .potluck, gaveWeight: 0).rank(inDebt) == 0)
        #expect(abs(LineRule(order: .potluck, gaveWeight: 0.1).rank(inDebt) - 0.05) < 1e-12)
    }

    /// Network of Favors counts only direct work and floors the balance: a giver in debt ties
    /// a stranger and a free rider.
    @Test func favorsFloorsTheDirectBalance() {
        let rank = Self.ranks(.favors)
        #expect(rank[Self.giverInDebt] == 0 && rank[Self.freeRider] == 0 && rank[Self.stranger] == 0)
        #expect(abs(rank[Self.generous]! - TrustMath.boundedScore(7200, unit: 3600)) < 1e-12)
    }

    /// A grant lifts a fresh identity under both rules; under Potluck's it is never negative.
    @Test func aGrantCountsAsCredit() {
        let score = FlowScore(given: 0, received: 0)
        #expect(LineRule(order: .potluck).rank(score, grant: 1800) > 0.2)
        #expect(LineRule(order: .trust).rank(score, grant: 1800) > 0.2)
        let inDebt = FlowScore(given: 0, received: 7200)
        #expect(LineRule(order: .potluck).rank(inDebt) == 0)
    }

    /// `spec/0022-line-rule.md` §4, to six decimals.
    @Test func specVectors() {
        let vectors: [(given: Double, received: Double, grant: Double, ranks: [LineRule.Order: Double])] = [
            (0, 0, 0, [.trust: 0, .given: 0, .fifo: 0, .favors: 0, .potluck: 0]),
            (3600, 10800, 0, [.trust: -0.704833, .given: 0.5, .fifo: 0, .favors: 0, .potluck: 0.0005]),
            (7200, 0, 0, [.trust: 0.704833, .given: 0.704833, .fifo: 0, .favors: 0.704833, .potluck: 0.705538]),
            (0, 3600, 0, [.trust: -0.5, .given: 0, .fifo: 0, .favors: 0, .potluck: 0]),
            (0, 0, 1800, [.trust: 0.295167, .given: 0.295167, .fifo: 0, .favors: 0.295167, .potluck: 0.295167]),
        ]
        for vector in vectors {
            for (order, expected) in vector.ranks {
                let rank = LineRule(order: order).rank(FlowScore(given: vector.given, received: vector.received), grant: vector.grant)
                #expect(abs(rank - expected) < 5e-7, "\(order) \(vector): \(rank)")
            }
        }
    }
}
