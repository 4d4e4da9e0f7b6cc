// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import Coordinates
import SeededRandom

/// A round-based Vivaldi simulation over a ground-truth latency matrix given by coordinates
/// (the King set): every node has `neighbours` random contacts (like DHT contacts); in each
/// round every node, in turn, samples the RTT of one random contact and updates from that
/// contact's current coordinate and error.
struct KingSimulation {
    /// How samples are distorted from the true RTT.
    struct Noise {
        /// Each sample is multiplied by a uniform factor in [1 − jitter, 1 + jitter].
        var jitter = 0.0
        /// This fraction of unordered pairs has its RTT multiplied by 2 or 0.5 (half each),
        /// consistently, so those pairs violate the triangle inequality.
        var violatingFraction = 0.0
        static let exact = Noise()
    }

    let truth: [VivaldiCoordinate]
    let noise: Noise
    let seed: UInt64
    var nodes: [VivaldiNode]
    var contacts: [[Int]]
    var rng: SplitMix64

    init(
        truth: [VivaldiCoordinate], neighbours: Int, noise: Noise, seed: UInt64,
        configuration: VivaldiConfiguration = .standard
    ) {
        self.truth = truth
        self.noise = noise
        self.seed = seed
        rng = SplitMix64(seed: seed)
        nodes = (0..<truth.count).map { VivaldiNode(configuration: configuration, seed: seed &+ UInt64($0)) }
        contacts = []
        for i in 0..<truth.count {
            var set = Set<Int>()
            while set.count < neighbours {
                let j = Int.random(in: 0..<truth.count, using: &rng)
                if j != i { set.insert(j) }
            }
            contacts.append(set.sorted())
        }
    }

    /// The true RTT between i and j: the King coordinates' distance with heights.
    func trueRTT(_ i: Int, _ j: Int) -> Double { truth[i].distance(to: truth[j]) }

    /// The RTT the network "really" has between i and j: the true one, times 2 or 0.5 for the
    /// violating pairs (decided by a hash of the unordered pair, so it is the same both ways).
    func networkRTT(_ i: Int, _ j: Int) -> Double {
        let base = trueRTT(i, j)
        guard noise.violatingFraction > 0 else { return base }
        var h = SplitMix64(seed: seed ^ (UInt64(min(i, j)) << 32 | UInt64(max(i, j))))
        let draw = Double(h.next() >> 11) / Double(1 << 53)
        guard draw < noise.violatingFraction else { return base }
        return h.next() & 1 == 0 ? base * 2 : base * 0.5
    }

    mutating func run(rounds: Int) {
        for _ in 0..<rounds {
            for i in 0..<nodes.count {
                let j = contacts[i][Int.random(in: 0..<contacts[i].count, using: &rng)]
                var rtt = networkRTT(i, j)
                if noise.jitter > 0 {
                    rtt *= Double.random(in: (1 - noise.jitter)...(1 + noise.jitter), using: &rng)
                }
                let remote = nodes[j]
                nodes[i].update(rtt: rtt, remote: remote.coordinate, remoteError: remote.error, neighbour: j)
            }
        }
    }

    /// Median relative error |est − ref| / ref over `pairs` random pairs (not only contacts),
    /// against the true RTT and against the network's RTT (with the violations, without jitter).
    func medianRelativeError(pairs: Int, seed: UInt64) -> (truth: Double, network: Double) {
        var pick = SplitMix64(seed: seed)
        var againstTruth: [Double] = [], againstNetwork: [Double] = []
        while againstTruth.count < pairs {
            let i = Int.random(in: 0..<nodes.count, using: &pick)
            let j = Int.random(in: 0..<nodes.count, using: &pick)
            guard i != j else { continue }
            let estimate = nodes[i].estimatedRTT(to: nodes[j].coordinate)
            let t = trueRTT(i, j), n = networkRTT(i, j)
            againstTruth.append(abs(estimate - t) / t)
            againstNetwork.append(abs(estimate - n) / n)
        }
        return (median(againstTruth), median(againstNetwork))
    }
}
