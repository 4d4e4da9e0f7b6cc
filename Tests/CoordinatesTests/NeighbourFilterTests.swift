// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import Coordinates
import Testing

@Suite("Vivaldi neighbour filter")
struct NeighbourFilterTests {
    @Test("the filter returns the median of each neighbour's last samples")
    func median() {
        var f = VivaldiNeighbourFilter(window: 3, capacity: 4)
        // Two samples give the mean of the middle ones; neighbour 2 has its own history; the
        // fourth sample of neighbour 1 drops its first (10).
        let outputs = [(10.0, 1), (30, 1), (100, 2), (11, 1), (500, 1)].map { f.filter(rtt: $0.0, neighbour: $0.1) }
        #expect(outputs == [10, 20, 100, 11, 30])
    }

    @Test("the table never tracks more than its capacity, forgetting the least recent")
    func bounded() {
        var f = VivaldiNeighbourFilter(window: 4, capacity: 3)
        for key in 0..<3 { _ = f.filter(rtt: 50, neighbour: key) }
        _ = f.filter(rtt: 50, neighbour: 0)  // 1 is now the least recently sampled
        _ = f.filter(rtt: 7, neighbour: 9)
        #expect(f.count == 3)
        let forgotten = f.filter(rtt: 90, neighbour: 1)  // 1 was forgotten: a fresh history
        let kept = f.filter(rtt: 60, neighbour: 0)  // 0 kept: median of 50, 50, 60
        #expect(forgotten == 90 && kept == 50 && f.count == 3)
    }

    @Test("a filtered node ignores a lone spike from a neighbour")
    func spike() {
        var n = VivaldiNode(seed: 4)
        let remote = VivaldiCoordinate(vector: [30, 40], height: 5)
        for _ in 0..<4 { n.update(rtt: 60, remote: remote, remoteError: 0.2, neighbour: "b") }
        let before = n.estimatedRTT(to: remote)
        n.update(rtt: 6_000, remote: remote, remoteError: 0.2, neighbour: "b")
        #expect(abs(n.estimatedRTT(to: remote) - before) < abs(60 - before) + 1)
        #expect(n.filter.count == 1 && n.samples == 5)
        let applied = n.update(rtt: .nan, remote: remote, remoteError: 0.2, neighbour: "b")
        #expect(!applied)
    }

    @Test("misfits count per neighbour while consecutive, and a fit resets the count")
    func strikes() {
        var f = VivaldiNeighbourFilter(window: 1, capacity: 2)
        #expect(f.recordMisfit(true, neighbour: 1) == 0)  // untracked
        _ = f.filter(rtt: 10, neighbour: 1)
        _ = f.filter(rtt: 10, neighbour: 2)
        let counts = [true, true, false, true].map { f.recordMisfit($0, neighbour: 1) }
        #expect(counts == [1, 2, 0, 1] && f.recordMisfit(true, neighbour: 2) == 1)
    }

    @Test("a settled node gives a neighbour's third consecutive misfit the weight ρ")
    func misfitRule() {
        let start = VivaldiCoordinate(vector: [0, 0], height: 1)
        let remote = VivaldiCoordinate(vector: [30, 40], height: 5)
        var ruled = VivaldiNode(coordinate: start, error: 0.1, seed: 3)
        var plain = VivaldiNode(
            coordinate: start, error: 0.1, configuration: VivaldiConfiguration(misfitThreshold: 0), seed: 3)
        // Each sample says 150 ms where the prediction is 56 to 90 ms: a misfit every time.
        for step in 1...3 {
            let before = ruled.coordinate
            ruled.update(rtt: 150, remote: remote, remoteError: 0.2, neighbour: "far")
            plain.update(rtt: 150, remote: remote, remoteError: 0.2, neighbour: "far")
            if step < 3 {
                #expect(ruled.coordinate == plain.coordinate && ruled.error == plain.error)
            } else {
                let moved = ruled.coordinate.euclideanDistance(to: before)
                let full = plain.coordinate.euclideanDistance(to: before)
                #expect(abs(moved / full - 0.2) < 1e-9)
            }
        }
        // A new node (error 1 > g) never judges: its samples keep their whole weight.
        var fresh = VivaldiNode(seed: 3), freshPlain = VivaldiNode(configuration: VivaldiConfiguration(misfitThreshold: 0), seed: 3)
        for _ in 0..<5 {
            fresh.update(rtt: 150, remote: remote, remoteError: 0.2, neighbour: "far")
            freshPlain.update(rtt: 150, remote: remote, remoteError: 0.2, neighbour: "far")
        }
        #expect(fresh.coordinate == freshPlain.coordinate)
    }
}
