import PotluckCrypto
import Records
import Testing
import Trust

@Suite("work graph and maths")
struct GraphTests {
    let a = namedKey("A"), b = namedKey("B")

    @Test func oneSidedReplayedAndForkedReceiptsAreNotCounted() throws {
        var graph = WorkGraph()
        let good = receipt(a, b, coreSeconds: 5, end: 10_000, sequence: 1)
        let oneSided = Receipt(body: good.body).signed(by: a)
        #expect(throws: RecordError.self) { try graph.add(oneSided) }
        try graph.add(good)
        let replay = #expect(throws: RecordError.self) { try graph.add(good) }
        #expect(replay?.code == .replayed)
        let fork = #expect(throws: RecordError.self) { try graph.add(receipt(a, b, coreSeconds: 6, end: 10_000, sequence: 1)) }
        #expect(fork?.code == .forked)
        #expect(graph.receiptCount == 1)
        #expect(graph.snapshot(now: 0).weight(from: a.publicKey, to: b.publicKey) == 5)
    }

    @Test func aLedgerBuildsTheSameGraph() throws {
        var ledger = ReceiptLedger()
        try ledger.insert(receipt(a, b, coreSeconds: 5, end: 10_000, sequence: 1))
        try ledger.insert(Receipt(body: receipt(b, a, coreSeconds: 7, end: 10_000, sequence: 1).body).signed(by: b))
        let snapshot = WorkGraph(ledger: ledger).snapshot(now: 0)
        #expect(snapshot.receiptCount == 1)
        #expect(snapshot.weight(from: b.publicKey, to: a.publicKey) == 0)
    }

    @Test(arguments: [(0.0, 0.0), (1.0, 0.7853981633974483), (-1.0, -0.7853981633974483),
                      (0.5, 0.4636476090008061), (2.6, 1.2036224929766774), (1e6, 1.5707953267948966),
                      (1e-8, 1e-8), (-3.0, -1.2490457723982544)])
    func atanMatchesLibm(_ x: Double, _ expected: Double) {
        #expect(abs(TrustMath.atan(x) - expected) <= 2e-16 * max(1, abs(expected)))
    }

    @Test(arguments: [(0.0, 1.0), (-1.0, 0.5), (-0.5, 0.7071067811865476), (-10.25, 0.0008211879055212056),
                      (3.0, 8.0), (-1074.0, 5e-324), (-2000.0, 0.0)])
    func exp2MatchesLibm(_ y: Double, _ expected: Double) {
        #expect(abs(TrustMath.exp2(y) - expected) <= 4e-16 * expected)
    }

    @Test func fadingHalvesWorkEachHalfLife() {
        var graph = WorkGraph()
        graph.addWork(provider: a.publicKey, consumer: b.publicKey, coreSeconds: 8, endedAt: 0)
        let week = 7 * 86_400.0
        #expect(graph.snapshot(now: 0, halfLifeSeconds: week).weight(from: a.publicKey, to: b.publicKey) == 8)
        #expect(graph.snapshot(now: Int64(week * 2000), halfLifeSeconds: week).weight(from: a.publicKey, to: b.publicKey) == 2)
        #expect(graph.snapshot(now: -5000, halfLifeSeconds: week).weight(from: a.publicKey, to: b.publicKey) == 8)
        #expect(graph.snapshot(now: Int64(week * 2000)).weight(from: a.publicKey, to: b.publicKey) == 8)
    }

    @Test func aPeerHasNoScoreForItself() {
        var graph = WorkGraph()
        graph.addWork(provider: a.publicKey, consumer: b.publicKey, coreSeconds: 8, endedAt: 0)
        graph.addWork(provider: a.publicKey, consumer: a.publicKey, coreSeconds: 8, endedAt: 0)
        let snapshot = graph.snapshot(now: 0)
        #expect(snapshot.flowScore(of: a.publicKey, asSeenBy: a.publicKey).score == 0)
        #expect(snapshot.receiptCount == 1)
        #expect(snapshot.flowScore(of: a.publicKey, asSeenBy: b.publicKey).score == TrustMath.boundedScore(8, unit: 3600))
    }
}
