// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import SeededRandom

/// One node's Vivaldi state: its coordinate and its local error estimate, updated from measured
/// round-trip times (Dabek, Cox, Kaashoek & Morris, "Vivaldi: A Decentralized Network Coordinate
/// System", SIGCOMM 2004, Fig. 3, with the height vectors of §5.4).
///
/// For each sample (rtt to node j, j's coordinate x_j and error e_j):
///
///     w   = e_i / (e_i + e_j)                         sample weight
///     e_s = | d(x_i, x_j) − rtt | / rtt               relative error of this sample
///     e_i = e_s × c_e × w + e_i × (1 − c_e × w)       moving average of the error
///     δ   = c_c × w                                   adaptive timestep
///     x_i = x_i + δ × (rtt − d(x_i, x_j)) × u(x_i − x_j)
///
/// where `d` is the height-vector distance ‖x_i − x_j‖ + h_i + h_j and `u` the unit vector of
/// the height-vector difference [x_i − x_j, h_i + h_j] (its norm being ‖x_i − x_j‖ + h_i + h_j),
/// so a force spreads between the Euclidean part and the height in proportion to each.
///
/// **Deviations.** (1) The error stays in [minError, maxError] (default [0.001, 1]) and the
/// remote error is clamped the same way, so w is defined and in (0, 1). (2) Heights stay at
/// least `minHeight` (paper: heights must stay positive, without a floor). (3) When the two
/// Euclidean vectors coincide (closer than `zeroThreshold`), the paper picks a random direction;
/// here the Euclidean difference is replaced by a random unit vector r, and u = [r, h_i + h_j] /
/// (1 + h_i + h_j), so the nodes separate in space as well as in height. (4) Samples that cannot
/// be measurements (rtt not finite or ≤ 0, a coordinate of another dimension) are ignored, and
/// every component is clamped to ±100 s (``VivaldiCoordinate/maxMagnitude``). (5) Samples
/// given with a neighbour key first pass a per-neighbour median filter (Ledlie, Gardner &
/// Seltzer, NSDI 2007; ``VivaldiNeighbourFilter``), then the misfit rule: once the node's error
/// is at most `misfitGate`, a neighbour whose filtered samples misfit the prediction by more than
/// `misfitThreshold` `misfitStrikes` times in a row has its weight w scaled by `misfitWeight`, and
/// such samples move the node with `neighbourCC` instead of c_c (a redescending weight for pairs
/// that violate the triangle inequality). An optional winsorisation around the prediction
/// (`outlierFactor`, off by default) also exists (`spec/0013-coordinates.md` §3.1–3.3).
public struct VivaldiNode: Sendable {
    /// The node's current coordinate.
    public private(set) var coordinate: VivaldiCoordinate
    /// The local error estimate e_i, in [minError, maxError]; starts at maxError (no idea).
    public private(set) var error: Double
    /// The constants.
    public let configuration: VivaldiConfiguration
    /// The number of samples applied.
    public private(set) var samples: Int = 0
    /// The stored generator for the random direction (SplitMix64 state).
    private var random: SplitMix64
    /// The per-neighbour RTT filter used by ``update(rtt:remote:remoteError:neighbour:)``.
    public private(set) var filter: VivaldiNeighbourFilter

    /// A new node at the origin, with height `minHeight` and the greatest error. `seed` drives the
    /// random direction chosen when two coordinates coincide.
    public init(configuration: VivaldiConfiguration = .standard, seed: UInt64 = 0) {
        self.configuration = configuration
        self.coordinate = VivaldiCoordinate(dimensions: configuration.dimensions, height: configuration.minHeight)
        self.error = configuration.maxError
        self.random = SplitMix64(seed: seed)
        self.filter = VivaldiNeighbourFilter(
            window: configuration.filterWindow, capacity: configuration.filterCapacity)
    }

    /// A node resumed from a saved coordinate and error (e.g. after a restart).
    public init(
        coordinate: VivaldiCoordinate, error: Double, configuration: VivaldiConfiguration = .standard,
        seed: UInt64 = 0
    ) {
        precondition(coordinate.dimensions == configuration.dimensions, "dimension mismatch")
        self.init(configuration: configuration, seed: seed)
        self.coordinate = VivaldiCoordinate(
            vector: coordinate.vector, height: max(coordinate.height, configuration.minHeight))
        self.error = clampError(error)
    }

    /// The predicted round-trip time to a node at `remote`, in milliseconds.
    public func estimatedRTT(to remote: VivaldiCoordinate) -> Double { coordinate.distance(to: remote) }

    /// What this node publishes: its coordinate and error.
    public var report: VivaldiReport { VivaldiReport(coordinate: coordinate, error: error) }

    /// Applies one RTT sample (ms) to a node at `remote` whose error estimate is `remoteError`,
    /// using the stored seeded generator if the coordinates coincide. Returns false (and changes
    /// nothing) when the sample is not usable.
    @discardableResult
    public mutating func update(rtt: Double, remote: VivaldiCoordinate, remoteError: Double) -> Bool {
        var generator = random
        defer { random = generator }
        return update(rtt: rtt, remote: remote, remoteError: remoteError, using: &generator)
    }

    /// Applies one RTT sample measured to the neighbour named `neighbour` (e.g. its node id): the
    /// sample first goes through that neighbour's RTT filter (Ledlie et al., NSDI 2007, §5.1), and
    /// the filtered RTT is applied with the misfit rule and `neighbourCC`
    /// (`spec/0013-coordinates.md` §3.3). Returns false when the sample is not usable.
    @discardableResult
    public mutating func update(
        rtt: Double, remote: VivaldiCoordinate, remoteError: Double, neighbour: some Hashable
    ) -> Bool {
        guard Self.isUsable(rtt), remote.dimensions == coordinate.dimensions else { return false }
        let key = neighbour.hashValue
        let filtered = filter.filter(rtt: rtt, neighbour: key)
        let weight = misfitWeight(rtt: filtered, remote: remote, neighbour: key)
        var generator = random
        defer { random = generator }
        return apply(
            rtt: filtered, remote: remote, remoteError: remoteError, cc: configuration.neighbourCC, weight: weight,
            using: &generator)
    }

    /// The misfit rule (`spec/0013-coordinates.md` §3.3): while e_i ≤ g, a filtered sample r
    /// misfits when max(r/p, p/r) − 1 > τ (p the prediction); from the n-th consecutive misfit of
    /// one neighbour on, the sample's weight is scaled by ρ. A pair that violates the triangle
    /// inequality by a constant factor misfits in every sample, while the misfits of a converging
    /// embedding come and go.
    private mutating func misfitWeight(rtt: Double, remote: VivaldiCoordinate, neighbour key: Int) -> Double {
        guard configuration.misfitThreshold > 0, error <= configuration.misfitGate else { return 1 }
        let predicted = coordinate.distance(to: remote)
        guard predicted > 0 else { return 1 }
        let misfit = max(rtt / predicted, predicted / rtt) - 1 > configuration.misfitThreshold
        let strikes = filter.recordMisfit(misfit, neighbour: key)
        return strikes >= configuration.misfitStrikes ? configuration.misfitWeight : 1
    }

    /// Applies one RTT sample to the neighbour `neighbour`, which published `report`, through
    /// that neighbour's RTT filter.
    @discardableResult
    public mutating func update(rtt: Double, remote report: VivaldiReport, neighbour: some Hashable) -> Bool {
        update(rtt: rtt, remote: report.coordinate, remoteError: report.error, neighbour: neighbour)
    }

    /// Applies one RTT sample to a node that published `report`.
    @discardableResult
    public mutating func update(rtt: Double, remote report: VivaldiReport) -> Bool {
        update(rtt: rtt, remote: report.coordinate, remoteError: report.error)
    }

    /// Applies one RTT sample, drawing the random direction (when needed) from `generator`.
    @discardableResult
    public mutating func update(
        rtt: Double, remote: VivaldiCoordinate, remoteError: Double,
        using generator: inout some RandomNumberGenerator
    ) -> Bool {
        apply(rtt: rtt, remote: remote, remoteError: remoteError, cc: configuration.cc, weight: 1, using: &generator)
    }

    /// The update of `spec/0013-coordinates.md` §3 with timestep constant `cc` and the sample
    /// weight w scaled by `weight`.
    private mutating func apply(
        rtt: Double, remote: VivaldiCoordinate, remoteError: Double, cc: Double, weight: Double,
        using generator: inout some RandomNumberGenerator
    ) -> Bool {
        guard Self.isUsable(rtt), remote.dimensions == coordinate.dimensions else { return false }
        let ej = clampError(remoteError.isFinite ? remoteError : configuration.maxError)
        let w = error / (error + ej) * weight
        let stretch = 1 + outlierBound()
        let predicted = coordinate.distance(to: remote)
        let sampleError = min(abs(predicted - rtt) / rtt, configuration.maxError)
        error = clampError(sampleError * configuration.ce * w + error * (1 - configuration.ce * w))
        let delta = cc * w
        let force = delta * (min(max(rtt, predicted / stretch), predicted * stretch) - predicted)
        // x_i += δ × (rtt − ‖x_i − x_j‖) × u(x_i − x_j), u in height-vector space: the Euclidean
        // part and the height part scaled so that ‖Euclidean part‖ + height part = 1.
        let length = coordinate.euclideanDistance(to: remote)
        let heights = coordinate.height + remote.height
        if length < configuration.zeroThreshold {
            // The same place: a random direction.
            let norm = 1 + heights
            let direction = randomUnitVector(dimensions: coordinate.dimensions, using: &generator)
            coordinate.move(by: direction.map { $0 / norm * force }, heightDelta: heights / norm * force,
                            minHeight: configuration.minHeight)
        } else {
            let norm = length + heights
            coordinate.move(awayFrom: remote, norm: norm, force: force, heightDelta: heights / norm * force,
                            minHeight: configuration.minHeight)
        }
        samples += 1
        return true
    }

    /// τ = max(k × e_i / (1 − e_i), τ_min): the sample is winsorised to [d / (1 + τ), d × (1 + τ)] (no bound
    /// when k = 0 or e_i = 1).
    private func outlierBound() -> Double {
        guard configuration.outlierFactor > 0, error < 1 else { return .infinity }
        return max(configuration.outlierFactor * error / (1 - error), configuration.outlierFloor)
    }

    static func isUsable(_ rtt: Double) -> Bool {
        rtt.isFinite && rtt > 0 && rtt <= VivaldiCoordinate.maxMagnitude
    }

    private func clampError(_ value: Double) -> Double {
        min(max(value, configuration.minError), configuration.maxError)
    }
}

/// A uniformly distributed unit vector, by rejection from the cube [−1, 1]^d (stdlib only: no
/// Gaussian sampler without `log`).
func randomUnitVector(dimensions: Int, using generator: inout some RandomNumberGenerator) -> [Double] {
    while true {
        let v = (0..<dimensions).map { _ in Double.random(in: -1...1, using: &generator) }
        let squared = v.reduce(0) { $0 + $1 * $1 }
        if squared > 1e-12 && squared <= 1 {
            let length = squared.squareRoot()
            return v.map { $0 / length }
        }
    }
}
