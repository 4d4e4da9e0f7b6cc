// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import Coordinates
import SeededRandom
import Testing

@Suite("Vivaldi coordinates")
struct VivaldiCoordinateTests {
    @Test("distance is ‖x_i − x_j‖ + h_i + h_j and symmetric")
    func distance() {
        let a = VivaldiCoordinate(vector: [0, 0], height: 1.5)
        let b = VivaldiCoordinate(vector: [3, 4], height: 2)
        #expect(a.distance(to: b) == 8.5)
        #expect(b.distance(to: a) == 8.5)
        var rng = SplitMix64(seed: 1)
        for _ in 0..<200 {
            let p = VivaldiCoordinate(
                vector: [Double.random(in: -500...500, using: &rng), Double.random(in: -500...500, using: &rng)],
                height: Double.random(in: 0...50, using: &rng))
            let q = VivaldiCoordinate(
                vector: [Double.random(in: -500...500, using: &rng), Double.random(in: -500...500, using: &rng)],
                height: Double.random(in: 0...50, using: &rng))
            #expect(p.distance(to: q) == q.distance(to: p))
            #expect(p.distance(to: q) >= p.height + q.height)
        }
    }

    @Test("negative or non-finite heights are clamped when built, refused when decoded")
    func heights() {
        #expect(VivaldiCoordinate(vector: [1, 2], height: -3).height == 0)
        #expect(VivaldiCoordinate(vector: [.nan, 2], height: .infinity).components == [0, 2, 0])
        #expect(VivaldiCoordinate(components: [1, 2, -1]) == nil)
        #expect(VivaldiCoordinate(components: [1, .nan, 1]) == nil)
        #expect(VivaldiCoordinate(components: [1]) == nil)
        #expect(VivaldiCoordinate(components: [1e9, 0, 1]) == nil)
    }

    @Test("wire forms round-trip")
    func wire() throws {
        let c = VivaldiCoordinate(vector: [-30.8, 183.25], height: 0.4)
        #expect(VivaldiCoordinate(components: c.components) == c)
        #expect(c.microseconds == [-30_800, 183_250, 400])
        let back = try #require(VivaldiCoordinate(microseconds: c.microseconds))
        #expect(abs(back.distance(to: c) - 2 * 0.4) < 1e-9)
        let r = VivaldiReport(coordinate: c, error: 0.125)
        #expect(VivaldiReport(components: r.components) == r)
        #expect(r.integers == [-30_800, 183_250, 400, 125_000])
        #expect(VivaldiReport(integers: r.integers)?.error == 0.125)
        #expect(VivaldiReport(integers: [1, 2, 3, 0]) == nil)
        #expect(VivaldiReport(components: [1, 2, 3, 1.5]) == nil)
    }
}

@Suite("Vivaldi update")
struct VivaldiUpdateTests {
    /// A node at (10, 0) with the given error.
    static func node(at x: Double, error: Double = 0.5) -> VivaldiNode {
        VivaldiNode(coordinate: VivaldiCoordinate(vector: [x, 0], height: 1), error: error)
    }

    static let origin = VivaldiCoordinate(vector: [0, 0], height: 1)

    @Test("a sample shorter than predicted pulls the node toward the remote")
    func toward() {
        var n = Self.node(at: 10)
        let before = n.estimatedRTT(to: Self.origin)  // 12
        let applied = n.update(rtt: 4, remote: Self.origin, remoteError: 0.5)
        #expect(applied)
        #expect(n.estimatedRTT(to: Self.origin) < before)
        #expect(n.coordinate.vector[0] < 10 && n.coordinate.vector[0] > 0)
        #expect(n.coordinate.vector[1] == 0)
    }

    @Test("a sample longer than predicted pushes the node away")
    func away() {
        var n = Self.node(at: 10)
        n.update(rtt: 40, remote: Self.origin, remoteError: 0.5)
        #expect(n.coordinate.vector[0] > 10)
        #expect(n.estimatedRTT(to: Self.origin) > 12)
        #expect(n.estimatedRTT(to: Self.origin) < 40)
    }

    @Test("the step follows Fig. 3: δ = c_c × w along the height-vector unit")
    func stepSize() {
        // e_i = e_j → w = 1/2, δ = 0.125; predicted 12, rtt 24 → force 1.5, split by the
        // height-vector norm 10 + 2: x moves 1.5 × 10/12, h moves 1.5 × 2/12.
        var n = Self.node(at: 10)
        n.update(rtt: 24, remote: Self.origin, remoteError: 0.5)
        #expect(abs(n.coordinate.vector[0] - 11.25) < 1e-12)
        #expect(abs(n.coordinate.height - 1.25) < 1e-12)
        // e_s = 12/24 = 0.5, e_i = 0.5 × 0.125 + 0.5 × 0.875 = 0.5.
        #expect(abs(n.error - 0.5) < 1e-12)
    }

    @Test("a confident node moves less on a sample from an unsure remote")
    func adaptiveTimestep() {
        var confident = Self.node(at: 10, error: 0.05)
        var unsure = Self.node(at: 10, error: 0.9)
        confident.update(rtt: 40, remote: Self.origin, remoteError: 0.9)
        unsure.update(rtt: 40, remote: Self.origin, remoteError: 0.9)
        #expect(confident.coordinate.vector[0] - 10 < unsure.coordinate.vector[0] - 10)
    }

    @Test("the error stays in (0, 1] whatever the samples")
    func errorBounds() {
        var rng = SplitMix64(seed: 3)
        var n = VivaldiNode(seed: 3)
        var sawLow = false
        for step in 0..<5_000 {
            let rtt = step < 2_500 ? Double.random(in: 0.001...10_000, using: &rng) : 50
            let remote = VivaldiCoordinate(vector: [30, 40], height: 0.01)
            n.update(rtt: rtt, remote: remote, remoteError: Double.random(in: -1...3, using: &rng))
            #expect(n.error > 0 && n.error <= 1)
            #expect(n.coordinate.height >= 0.01)
            if n.error < 0.05 { sawLow = true }
        }
        #expect(sawLow)  // consistent samples bring the error down
    }

    @Test("unusable samples change nothing")
    func ignored() {
        var n = Self.node(at: 10)
        let before = n.coordinate
        for rtt in [0, -5, Double.nan, .infinity] {
            let applied = n.update(rtt: rtt, remote: Self.origin, remoteError: 0.5)
            #expect(!applied)
        }
        let applied = n.update(rtt: 5, remote: VivaldiCoordinate(vector: [1, 2, 3], height: 0), remoteError: 0.5)
        #expect(!applied)
        #expect(n.coordinate == before && n.samples == 0)
    }

    @Test("coinciding coordinates are separated along a random direction")
    func coinciding() {
        var a = VivaldiNode(seed: 1)
        var b = VivaldiNode(seed: 2)
        #expect(a.coordinate.euclideanDistance(to: b.coordinate) == 0)
        let (ca, cb) = (a.coordinate, b.coordinate)
        a.update(rtt: 20, remote: cb, remoteError: 1)
        b.update(rtt: 20, remote: ca, remoteError: 1)
        #expect(a.coordinate.euclideanDistance(to: ca) > 0)
        #expect(a.coordinate.euclideanDistance(to: b.coordinate) > 0)
        #expect(a.coordinate != b.coordinate)
        // Repeatable from the seed.
        var again = VivaldiNode(seed: 1)
        again.update(rtt: 20, remote: cb, remoteError: 1)
        var generator = SplitMix64(seed: 9)
        var injected = VivaldiNode(seed: 1)
        injected.update(rtt: 20, remote: cb, remoteError: 1, using: &generator)
        #expect(again.coordinate == a.coordinate)
        #expect(injected.coordinate != a.coordinate)
    }

    @Test("two nodes converge to their measured RTT")
    func pair() {
        var a = VivaldiNode(seed: 1), b = VivaldiNode(seed: 2)
        for _ in 0..<200 {
            a.update(rtt: 50, remote: b.report)
            b.update(rtt: 50, remote: a.report)
        }
        #expect(abs(a.estimatedRTT(to: b.coordinate) - 50) < 0.5)
        #expect(a.error < 0.05)
    }
}
