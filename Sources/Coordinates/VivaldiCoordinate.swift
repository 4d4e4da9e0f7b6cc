// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// A point in Vivaldi's **height-vector** space (Dabek, Cox, Kaashoek & Morris, "Vivaldi: A
/// Decentralized Network Coordinate System", SIGCOMM 2004, §5.4 "Height vectors").
///
/// A coordinate is a Euclidean vector `x` of fixed dimension (2 by default) plus a non-negative
/// height `h`, both in milliseconds. The Euclidean part models the Internet core, where latency
/// grows with geographic distance; the height models the access link a packet crosses at each
/// end. The predicted round-trip time between two nodes is
///
///     d(i, j) = ‖x_i − x_j‖ + h_i + h_j
///
/// (`spec/0013-coordinates.md` §2).
///
/// **Deviations.** The paper defines the height-vector space with its arithmetic; only the
/// operations the update needs are provided (`distance(to:)`, and the unit vector in
/// ``VivaldiNode``). A coordinate is never "at distance zero from itself": `distance(to: self)`
/// is `2h`, exactly as the model says (a packet to oneself would cross the access link twice).
public struct VivaldiCoordinate: Sendable, Hashable {
    /// The Euclidean part, in milliseconds; its count is the dimension.
    public private(set) var vector: [Double]
    /// The height, in milliseconds, never negative.
    public private(set) var height: Double

    /// The largest magnitude, in milliseconds, a component or height may have (100 s); larger
    /// values are refused when decoded and clamped when computed, so a hostile peer cannot push a
    /// coordinate to infinity.
    public static let maxMagnitude = 100_000.0

    /// The origin of a `dimensions`-dimensional space, with height `height`.
    public init(dimensions: Int = 2, height: Double = 0) {
        precondition(dimensions >= 1, "a coordinate has at least one dimension")
        self.vector = Array(repeating: 0, count: dimensions)
        self.height = Self.clampHeight(height)
    }

    /// A coordinate from its parts. Non-finite components become 0; magnitudes are clamped to
    /// ±``maxMagnitude`` and the height to [0, ``maxMagnitude``].
    public init(vector: [Double], height: Double) {
        precondition(!vector.isEmpty, "a coordinate has at least one dimension")
        self.vector = vector.map(Self.clampComponent)
        self.height = Self.clampHeight(height)
    }

    /// The number of Euclidean dimensions.
    public var dimensions: Int { vector.count }

    /// The Euclidean distance ‖x_i − x_j‖ between the two vectors, without heights.
    /// Both coordinates must have the same dimension.
    public func euclideanDistance(to other: VivaldiCoordinate) -> Double {
        precondition(other.dimensions == dimensions, "coordinates of different dimensions")
        var sum = 0.0
        for k in 0..<vector.count {
            let d = vector[k] - other.vector[k]
            sum += d * d
        }
        return sum.squareRoot()
    }

    /// The predicted round-trip time, in milliseconds: ‖x_i − x_j‖ + h_i + h_j (paper §5.4).
    /// Symmetric; both coordinates must have the same dimension.
    public func distance(to other: VivaldiCoordinate) -> Double {
        euclideanDistance(to: other) + (height + other.height)
    }

    /// Moves along `(self − remote) / norm × force` (each component computed from the
    /// coordinate before the move), without building the direction as an array: a node
    /// applies a sample for every reply it receives.
    mutating func move(awayFrom remote: VivaldiCoordinate, norm: Double, force: Double, heightDelta: Double, minHeight: Double) {
        for k in 0..<vector.count {
            vector[k] = Self.clampComponent(vector[k] + (vector[k] - remote.vector[k]) / norm * force)
        }
        height = max(Self.clampHeight(height + heightDelta), minHeight)
    }

    /// Moves the coordinate by `delta` (Euclidean part) and `heightDelta`, clamping the height to
    /// at least `minHeight` and every magnitude to ``maxMagnitude``.
    mutating func move(by delta: [Double], heightDelta: Double, minHeight: Double) {
        for k in 0..<vector.count {
            vector[k] = Self.clampComponent(vector[k] + delta[k])
        }
        height = max(Self.clampHeight(height + heightDelta), minHeight)
    }

    static func clampComponent(_ value: Double) -> Double {
        guard value.isFinite else { return 0 }
        return min(max(value, -maxMagnitude), maxMagnitude)
    }

    static func clampHeight(_ value: Double) -> Double {
        guard value.isFinite else { return 0 }
        return min(max(value, 0), maxMagnitude)
    }
}

extension VivaldiCoordinate {
    /// The components `[x_1, …, x_d, h]` in milliseconds: the `[Double]` wire form.
    public var components: [Double] { vector + [height] }

    /// A coordinate from `[x_1, …, x_d, h]` (d ≥ 1). `nil` when there are fewer than two values,
    /// a value is not finite or larger than ``maxMagnitude``, or the height is negative: input
    /// from the network is refused, never repaired.
    public init?(components: [Double]) {
        guard components.count >= 2, components.count <= 9 else { return nil }
        for value in components where !value.isFinite || abs(value) > Self.maxMagnitude { return nil }
        guard let h = components.last, h >= 0 else { return nil }
        self.init(vector: Array(components.dropLast()), height: h)
    }

    /// The fixed-point wire form for bencode, which has integers only: `[x_1, …, x_d, h]` in
    /// **microseconds**, rounded to nearest (`spec/0013-coordinates.md` §4).
    public var microseconds: [Int] { components.map { Int(($0 * 1000).rounded()) } }

    /// A coordinate from its fixed-point wire form (microseconds); `nil` under the same rules as
    /// ``init(components:)``.
    public init?(microseconds: [Int]) {
        let limit = Int(Self.maxMagnitude) * 1000
        for value in microseconds where value < -limit || value > limit { return nil }
        self.init(components: microseconds.map { Double($0) / 1000 })
    }
}
