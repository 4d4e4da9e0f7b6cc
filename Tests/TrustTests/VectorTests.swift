import PotluckCrypto
import Foundation
import Records
import Testing
import Trust

struct TrustVectors: Decodable, Sendable {
    struct Edge: Decodable, Sendable { let provider, consumer: String; let coreSeconds: Double; let endedAt: Int64 }
    struct Flow: Decodable, Sendable, CustomTestStringConvertible {
        let asker, subject: String
        let maxPathLength: Int
        let unit: Double
        let halfLifeSeconds: Double?
        let given, received, score: Double
        var testDescription: String { "\(asker) about \(subject), \(maxPathLength) hops, half-life \(halfLifeSeconds ?? 0)" }
    }
    struct Favor: Decodable, Sendable { let asker, subject: String; let given, received, balance: Double }
    struct Eigen: Decodable, Sendable {
        let preTrusted: [String]
        let alpha: Double
        let maxIterations: Int
        let tolerance: Double
        let scores: [String: Double]
    }
    let now: Int64
    let edges: [Edge]
    let flows: [Flow]
    let favors: [Favor]
    let eigenTrust: Eigen
}

private let vectors = try? JSONDecoder().decode(TrustVectors.self, from: vectorData("trust.json"))

/// The vector graph, built from real two-party receipts.
private func graph(_ v: TrustVectors) throws -> WorkGraph {
    var graph = WorkGraph()
    var sequences: [String: Int64] = [:]
    for edge in v.edges {
        let pair = edge.provider + ">" + edge.consumer
        sequences[pair, default: 0] += 1
        try graph.add(receipt(namedKey(edge.provider), namedKey(edge.consumer), coreSeconds: edge.coreSeconds,
                              end: edge.endedAt, sequence: sequences[pair]!))
    }
    return graph
}

@Suite("trust vectors (spec/0012-trust.md §8)")
struct TrustVectorTests {
    @Test func vectorsAreLoaded() throws {
        let v = try #require(vectors)
        #expect(v.edges.count == 8 && v.flows.count == 10 && v.favors.count == 5)
    }

    @Test("flow scores", arguments: vectors?.flows ?? [])
    func flow(_ expected: TrustVectors.Flow) throws {
        let v = try #require(vectors)
        let snapshot = try graph(v).snapshot(now: v.now, halfLifeSeconds: expected.halfLifeSeconds)
        let score = snapshot.flowScore(
            of: namedKey(expected.subject).publicKey, asSeenBy: namedKey(expected.asker).publicKey,
            configuration: FlowConfiguration(maxPathLength: expected.maxPathLength, unit: expected.unit))
        #expect(abs(score.given - expected.given) < 1e-12)
        #expect(abs(score.received - expected.received) < 1e-12)
        #expect(abs(score.score - expected.score) < 1e-12)
    }

    @Test func favorBalances() throws {
        let v = try #require(vectors)
        let snapshot = try graph(v).snapshot(now: v.now)
        for f in v.favors {
            let b = snapshot.favorBalance(of: namedKey(f.subject).publicKey, asSeenBy: namedKey(f.asker).publicKey)
            #expect(b.given == f.given && b.received == f.received && b.balance == f.balance)
        }
    }

    @Test func eigenTrust() throws {
        let v = try #require(vectors)
        let e = v.eigenTrust
        let result = try graph(v).snapshot(now: v.now).eigenTrust(EigenTrustConfiguration(
            preTrusted: e.preTrusted.map { namedKey($0).publicKey }, alpha: e.alpha,
            maxIterations: e.maxIterations, tolerance: e.tolerance))
        #expect(result.converged)
        for (name, score) in e.scores {
            #expect(abs(result.score(of: namedKey(name).publicKey) - score) < 1e-12, "\(name)")
        }
    }

    @Test func theExplanationNamesTheFlowsAndReceipts() throws {
        let v = try #require(vectors)
        let snapshot = try graph(v).snapshot(now: v.now)
        let a = namedKey("A").publicKey, b = namedKey("B").publicKey, c = namedKey("C").publicKey
        let why = snapshot.explain(b, asSeenBy: a)
        #expect(why.flow.given == 32 && why.flow.received == 4)
        #expect(why.direct.given == 12 && why.direct.received == 4)
        #expect(why.intermediaries.map(\.peer) == [c])
        #expect(why.intermediaries.first?.carried == 20)
        #expect(why.intermediaryCount == 1)
        #expect(why.directReceipts == 3)
        #expect(why.subjectReceipts == 4)
        #expect(why.knownReceipts == 8)
    }
}
