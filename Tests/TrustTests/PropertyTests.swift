import PotluckCrypto
import Records
import SeededRandom
import Testing
@testable import Trust

/// Seeded random graphs: honest peers with real work among them, and a sybil region.
struct World {
    var graph = WorkGraph()
    var honest: [PublicKey] = []
    var sybils: [PublicKey] = []
    /// Work the sybil region really gave honest peers: the capacity of the cut S → H.
    var realWorkGiven = 0.0

    init(seed: UInt64, honestCount: Int = 30, sybilCount: Int) {
        var rng = SplitMix64(seed: seed)
        honest = (0..<honestCount).map { _ in fakePeer(&rng) }
        sybils = (0..<sybilCount).map { _ in fakePeer(&rng) }
        for _ in 0..<(honestCount * 6) {
            graph.addWork(provider: honest.randomElement(using: &rng)!, consumer: honest.randomElement(using: &rng)!,
                          coreSeconds: Double.random(in: 1...500, using: &rng), endedAt: 0)
        }
        // Fake work inside the region: any amount, any shape.
        for _ in 0..<(sybilCount * 3) {
            graph.addWork(provider: sybils.randomElement(using: &rng)!, consumer: sybils.randomElement(using: &rng)!,
                          coreSeconds: Double.random(in: 1...1e7, using: &rng), endedAt: 0)
        }
        // The only links: work honest peers really received from the region, and work they gave it.
        for _ in 0..<5 {
            let amount = Double.random(in: 1...300, using: &rng)
            graph.addWork(provider: sybils.randomElement(using: &rng)!, consumer: honest.randomElement(using: &rng)!,
                          coreSeconds: amount, endedAt: 0)
            realWorkGiven += amount
            graph.addWork(provider: honest.randomElement(using: &rng)!, consumer: sybils.randomElement(using: &rng)!,
                          coreSeconds: Double.random(in: 1...300, using: &rng), endedAt: 0)
        }
    }
}

@Suite("trust properties (spec/0012-trust.md §9)")
struct PropertyTests {
    @Test("a sybil region gains no more trust than the work it really gave", arguments: [1, 10, 100, 1000])
    func sybilRegionIsBoundedByTheCut(size: Int) {
        for seed in UInt64(1)...3 {
            let world = World(seed: seed &* 7919 &+ UInt64(size), sybilCount: size)
            let snapshot = world.graph.snapshot(now: 0)
            let bound = world.realWorkGiven * (1 + 1e-12)
            let lengths = size <= 100 ? [2, 3] : [2]
            for asker in world.honest.prefix(5) {
                for length in lengths {
                    let configuration = FlowConfiguration(maxPathLength: length)
                    let best = world.sybils.map { snapshot.flowScore(of: $0, asSeenBy: asker, configuration: configuration) }
                        .max { $0.given < $1.given }!
                    #expect(best.given <= bound, "\(size) sybils, \(length) hops: \(best.given) > \(world.realWorkGiven)")
                    #expect(best.net <= bound)
                    #expect(best.score <= TrustMath.boundedScore(world.realWorkGiven, unit: configuration.unit) + 1e-12)
                }
            }
        }
    }

    @Test func theBoundIsReachedWhenTheRealWorkFlowsToTheAsker() {
        // s gives 100 to h, h gives 1000 to i; s's fake friends give s a billion: s still gets 100.
        var rng = SplitMix64(seed: 42)
        let s = fakePeer(&rng), h = fakePeer(&rng), i = fakePeer(&rng), fake = fakePeer(&rng)
        var graph = WorkGraph()
        graph.addWork(provider: fake, consumer: s, coreSeconds: 1e9, endedAt: 0)
        graph.addWork(provider: s, consumer: fake, coreSeconds: 1e9, endedAt: 0)
        graph.addWork(provider: s, consumer: h, coreSeconds: 100, endedAt: 0)
        graph.addWork(provider: h, consumer: i, coreSeconds: 1000, endedAt: 0)
        let snapshot = graph.snapshot(now: 0)
        #expect(snapshot.flowScore(of: s, asSeenBy: i).given == 100)
        #expect(snapshot.flowScore(of: fake, asSeenBy: i).given == 0)
        #expect(snapshot.flowScore(of: fake, asSeenBy: i, configuration: .init(maxPathLength: 3)).given == 100)
    }

    @Test func aWhitewasherStartsFromZero() {
        let world = World(seed: 5, sybilCount: 10)
        var rng = SplitMix64(seed: 99)
        let newcomer = fakePeer(&rng)
        let snapshot = world.graph.snapshot(now: 0)
        for asker in world.honest.prefix(10) {
            let score = snapshot.flowScore(of: newcomer, asSeenBy: asker, configuration: .init(maxPathLength: 3))
            #expect(score.given == 0 && score.received == 0 && score.score == 0)
            #expect(snapshot.favorBalance(of: newcomer, asSeenBy: asker).balance == 0)
            #expect(snapshot.explain(newcomer, asSeenBy: asker).subjectReceipts == 0)
        }
        // Consuming under the new name only lowers it.
        var graph = world.graph
        graph.addWork(provider: world.honest[0], consumer: newcomer, coreSeconds: 50, endedAt: 0)
        #expect(graph.snapshot(now: 0).flowScore(of: newcomer, asSeenBy: world.honest[0]).score < 0)
    }

    @Test("scores do not depend on insertion order", arguments: [UInt64(11), 12, 13])
    func deterministic(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let peers = (0..<12).map { namedKey("peer \(seed) \($0)") }
        var receipts: [Receipt] = []
        var sequence: [Int: Int64] = [:]
        for _ in 0..<120 {
            let p = Int.random(in: 0..<12, using: &rng), c = (p + Int.random(in: 1..<12, using: &rng)) % 12
            sequence[p * 12 + c, default: 0] += 1
            receipts.append(receipt(peers[p], peers[c], coreSeconds: Double.random(in: 0.001...900, using: &rng),
                                    end: Int64.random(in: 0...86_400_000, using: &rng), sequence: sequence[p * 12 + c]!))
        }
        var results: [[Double]] = []
        for round in 0..<3 {
            var graph = WorkGraph()
            for r in round == 0 ? receipts : receipts.shuffled(using: &rng) { try graph.add(r) }
            let snapshot = graph.snapshot(now: 90_000_000, halfLifeSeconds: 3600)
            var values: [Double] = []
            for i in peers.prefix(4) {
                for j in peers {
                    values.append(snapshot.flowScore(of: j.publicKey, asSeenBy: i.publicKey).score)
                    values.append(snapshot.maxFlow(from: j.publicKey, to: i.publicKey, maxPathLength: 3))
                }
            }
            values += snapshot.eigenTrust().scores
            results.append(values)
        }
        #expect(results[0] == results[1] && results[1] == results[2])
    }

    @Test("favor balances are antisymmetric before flooring", arguments: [UInt64(21), 22])
    func favorAntisymmetry(seed: UInt64) {
        let world = World(seed: seed, sybilCount: 20)
        let snapshot = world.graph.snapshot(now: 0)
        let everyone = world.honest + world.sybils.prefix(5)
        for i in everyone.prefix(15) {
            for j in everyone {
                let a = snapshot.favorBalance(of: j, asSeenBy: i), b = snapshot.favorBalance(of: i, asSeenBy: j)
                #expect(a.difference == -b.difference)
                #expect(a.balance >= 0 && (a.balance == 0 || b.balance == 0))
            }
        }
    }

    @Test("EigenTrust sums to 1", arguments: [UInt64(31), 32, 33])
    func eigenTrustSumsToOne(seed: UInt64) {
        let world = World(seed: seed, sybilCount: 50)
        let snapshot = world.graph.snapshot(now: 0)
        for pre in [[], Array(world.honest.prefix(3))] {
            let result = snapshot.eigenTrust(EigenTrustConfiguration(preTrusted: pre))
            #expect(abs(result.scores.reduce(0, +) - 1) < 1e-9)
            #expect(result.scores.allSatisfy { $0 >= 0 })
            #expect(result.iterations >= 1 && result.iterations <= 100)
        }
    }

    @Test("the two-hop closed form is bounded Edmonds–Karp", arguments: [UInt64(41), 42, 43])
    func closedFormMatchesEdmondsKarp(seed: UInt64) {
        let world = World(seed: seed, honestCount: 25, sybilCount: 10)
        let snapshot = world.graph.snapshot(now: 0)
        let n = snapshot.peers.count
        for s in 0..<min(n, 12) {
            for t in 0..<n where t != s {
                let closed = snapshot.twoHopFlow(s, t)
                let general = snapshot.boundedEdmondsKarp(s, t, maxLength: 2, maxAugmentations: 10_000)
                #expect(abs(closed - general) <= 1e-9 * max(1, closed))
                #expect(snapshot.boundedEdmondsKarp(s, t, maxLength: 4, maxAugmentations: 10_000) >= closed - 1e-9)
            }
        }
    }
}
