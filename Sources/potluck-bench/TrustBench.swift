import PotluckCrypto
import Kademlia
import Node
import SeededRandom
import Trust

/// `potluck-bench trust`: one flow-based trust query (2 hops) on a synthetic graph of 100,000
/// peers and 1,000,000 receipts — Potluck's indexed snapshot beside a straightforward reference
/// (nested dictionaries, the same formula) in the same run. Goal: p50 under 10 ms.
func trustBench() async throws -> [BenchResult] {
    var random = SplitMix64(seed: 2026)
    let peers = (0..<100_000).map { _ in PublicKey(raw: Bytes32(random.bytes(32))!) }
    var edges: [(provider: Int32, consumer: Int32, seconds: Double)] = []
    edges.reserveCapacity(1_000_000)
    for _ in 0..<1_000_000 {
        // A quarter of the work comes from 1% of the peers (busy lenders), the rest at random.
        let provider = random.next() % 4 == 0 ? Int32(random.next() % 1000) : Int32(random.next() % 100_000)
        let consumer = Int32(random.next() % 100_000)
        if provider != consumer { edges.append((provider, consumer, Double(random.next() % 3600 + 1))) }
    }
    let residentBefore = LoopbackSwarm.residentBytes()
    var graph = WorkGraph()
    for edge in edges {
        graph.addWork(provider: peers[Int(edge.provider)], consumer: peers[Int(edge.consumer)], coreSeconds: edge.seconds, endedAt: 0)
    }
    let snapshot = graph.snapshot(now: 0)
    let potluckMiB = Double(LoopbackSwarm.residentBytes() - residentBefore) / Double(1 << 20)
    var reference: [PublicKey: [PublicKey: Double]] = [:]
    for edge in edges {
        reference[peers[Int(edge.provider)], default: [:]][peers[Int(edge.consumer)], default: 0] += edge.seconds
    }
    let referenceMiB = Double(LoopbackSwarm.residentBytes() - residentBefore) / Double(1 << 20) - potluckMiB
    let queries = (0..<2000).map { _ in (peers[Int(random.next() % 1000)], peers[Int(random.next() % 100_000)]) }
    var potluckTimes: [Double] = [], referenceTimes: [Double] = []
    for (subject, asker) in queries {
        var start = nowNanoseconds()
        blackHole(snapshot.flowScore(of: subject, asSeenBy: asker).score)
        potluckTimes.append(Double(nowNanoseconds() - start) / 1e6)
        start = nowNanoseconds()
        blackHole(referenceFlow(reference, from: subject, to: asker) - referenceFlow(reference, from: asker, to: subject))
        referenceTimes.append(Double(nowNanoseconds() - start) / 1e6)
    }
    var result = BenchResult(bench: "trust", caseName: "flow query, 100k peers / 1M receipts", unit: "queries/s",
                             potluck: 1000 / median(potluckTimes), reference: 1000 / median(referenceTimes))
    result.extra = [("p50_ms", percentile(potluckTimes, 0.5)), ("p99_ms", percentile(potluckTimes, 0.99)),
                    ("reference_p50_ms", percentile(referenceTimes, 0.5)), ("reference_p99_ms", percentile(referenceTimes, 0.99)),
                    ("memory_mib", potluckMiB), ("reference_memory_mib", referenceMiB)]
    return [result]
}

/// The reference: work flowing from `source` to `sink` over paths of at most 2 hops, read from
/// nested dictionaries: the direct edge plus, for every out-neighbour k of `source`,
/// min(c(source, k), c(k, sink)).
private func referenceFlow(_ edges: [PublicKey: [PublicKey: Double]], from source: PublicKey, to sink: PublicKey) -> Double {
    guard let out = edges[source] else { return 0 }
    var flow = out[sink] ?? 0
    for (middle, first) in out where middle != sink {
        if let second = edges[middle]?[sink] { flow += min(first, second) }
    }
    return flow
}
