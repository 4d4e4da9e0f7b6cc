// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// A two-dimensional height-vector coordinate in six bytes, as a node keeps it for each contact
/// and hands it out beside the contacts it returns (`spec/0013-coordinates.md` §4.2): x₁, x₂ as
/// signed and h as unsigned 16-bit integers in tenths of a millisecond, so a lookup can expect a
/// round trip from peers it never contacted (`spec/0007-dht-lookup.md` §5.7).
///
/// The Euclidean components are clamped to ±3,276.7 ms and the height to 6,553.5 ms: wider than
/// any round trip on Earth, and a coordinate beyond them predicts a round trip a lookup caps at
/// its short timeout anyway. A height of 0 means *unknown* (a known height is at least 0.1 ms).
///
/// **Deviations.** Vivaldi's coordinates have any dimension and double precision; only the
/// paper's two dimensions (the node's default) are packed, and a report with another dimension
/// or an error above ``trustedError`` packs to ``unknown``.
public struct PackedCoordinate: Sendable, Hashable {
    public var x: Int16
    public var y: Int16
    /// The height in tenths of a millisecond; 0 when unknown.
    public var height: UInt16

    /// No coordinate.
    public static let unknown = PackedCoordinate(x: 0, y: 0, height: 0)

    /// The largest error estimate a coordinate may carry and still be kept or trusted: above it a
    /// node's coordinate has not settled yet (a fresh node starts at error 1).
    public static let trustedError = 0.5

    /// The byte count on the wire.
    public static let byteCount = 6

    public init(x: Int16, y: Int16, height: UInt16) {
        self.x = x
        self.y = y
        self.height = height
    }

    /// `report` packed, or ``unknown`` if it is not two-dimensional or its error is above
    /// ``trustedError``.
    public init(_ report: VivaldiReport) {
        let vector = report.coordinate.vector
        guard vector.count == 2, report.error <= Self.trustedError else {
            self = .unknown
            return
        }
        func tenths(_ milliseconds: Double) -> Double { (milliseconds * 10).rounded() }
        x = Int16(Swift.max(-32767, Swift.min(32767, tenths(vector[0]))))
        y = Int16(Swift.max(-32767, Swift.min(32767, tenths(vector[1]))))
        height = UInt16(Swift.max(1, Swift.min(65535, tenths(report.coordinate.height))))
    }

    /// From six bytes in network order (x₁, x₂, h); all zero reads as ``unknown``.
    public init<Bytes: Collection<UInt8>>(bytes: Bytes) where Bytes.Index == Int {
        precondition(bytes.count == Self.byteCount, "a packed coordinate is 6 bytes")
        let start = bytes.startIndex
        func word(_ offset: Int) -> UInt16 { UInt16(bytes[start + offset]) << 8 | UInt16(bytes[start + offset + 1]) }
        self.init(x: Int16(bitPattern: word(0)), y: Int16(bitPattern: word(2)), height: word(4))
    }

    /// Whether a coordinate is held.
    public var isKnown: Bool { height != 0 }

    /// Appends the six bytes in network order (no temporary array: every reply encodes eight).
    public func append(to buffer: inout [UInt8]) {
        withUnsafeBytes(of: (UInt16(bitPattern: x).bigEndian, UInt16(bitPattern: y).bigEndian, height.bigEndian)) {
            buffer.append(contentsOf: $0.prefix(Self.byteCount))
        }
    }

    /// The predicted round trip to `other`, ‖x_i − x_j‖ + h_i + h_j (Dabek et al., §5.4), in
    /// whole microseconds; `nil` if either coordinate is unknown.
    public func roundTrip(to other: PackedCoordinate) -> Duration? {
        guard isKnown, other.isKnown else { return nil }
        let dx = Double(Int32(x) - Int32(other.x)), dy = Double(Int32(y) - Int32(other.y))
        let milliseconds = ((dx * dx + dy * dy).squareRoot() + Double(height) + Double(other.height)) / 10
        return .microseconds(Int64(milliseconds * 1000))
    }
}
