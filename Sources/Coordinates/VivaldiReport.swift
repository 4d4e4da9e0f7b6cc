// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// What a node publishes about itself so others can update from it (Dabek et al., SIGCOMM 2004,
/// Fig. 3: a sample carries the remote coordinate x_j and error e_j): to ride in KRPC queries
/// and replies as an extra key, and in offers (`spec/0013-coordinates.md` §4).
///
/// **Deviations.** The paper does not fix a wire form. Bencode has integers only, so the
/// fixed-point form carries the coordinate in microseconds and the error in millionths.
public struct VivaldiReport: Sendable, Hashable {
    /// The remote coordinate x_j.
    public var coordinate: VivaldiCoordinate
    /// The remote error estimate e_j, in (0, 1].
    public var error: Double

    public init(coordinate: VivaldiCoordinate, error: Double) {
        self.coordinate = coordinate
        self.error = error
    }

    /// `[x_1, …, x_d, h, e]`: the coordinate's components then the error.
    public var components: [Double] { coordinate.components + [error] }

    /// From `[x_1, …, x_d, h, e]`; `nil` if the coordinate is refused (see
    /// ``VivaldiCoordinate/init(components:)``) or e is not in (0, 1].
    public init?(components: [Double]) {
        guard components.count >= 3, let e = components.last, e.isFinite, e > 0, e <= 1,
            let coordinate = VivaldiCoordinate(components: Array(components.dropLast()))
        else { return nil }
        self.init(coordinate: coordinate, error: e)
    }

    /// The bencode form: `[x_1, …, x_d, h]` in microseconds, then e in millionths (at least 1).
    public var integers: [Int] {
        coordinate.microseconds + [max(1, Int((error * 1_000_000).rounded()))]
    }

    /// From the bencode form; `nil` if the coordinate is refused or e is not in [1, 1,000,000].
    public init?(integers: [Int]) {
        guard integers.count >= 3, let e = integers.last, e >= 1, e <= 1_000_000,
            let coordinate = VivaldiCoordinate(microseconds: Array(integers.dropLast()))
        else { return nil }
        self.init(coordinate: coordinate, error: Double(e) / 1_000_000)
    }
}
