// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Coordinates
import Testing

/// The six-byte coordinate a node keeps per contact and hands out in `plnc` (`spec/0013` §4.2).
@Suite("Packed coordinates")
struct PackedCoordinateTests {
    static func report(_ x: Double, _ y: Double, _ h: Double, error: Double = 0.2) -> VivaldiReport {
        VivaldiReport(coordinate: VivaldiCoordinate(vector: [x, y], height: h), error: error)
    }

    @Test func packsToTenthsOfAMillisecondAndPredictsTheSameRoundTrip() throws {
        let a = Self.report(12.34, -56.78, 9.99), b = Self.report(-100.05, 40, 0.01)
        let packedA = PackedCoordinate(a), packedB = PackedCoordinate(b)
        #expect(packedA == PackedCoordinate(x: 123, y: -568, height: 100))
        #expect(packedB.height == 1, "a known height is at least a tenth of a millisecond")
        let exact = a.coordinate.distance(to: b.coordinate)
        let packed = try #require(packedA.roundTrip(to: packedB))
        let difference = packed - .microseconds(Int64(exact * 1000))
        #expect(difference < .microseconds(300) && difference > .microseconds(-300))
    }

    @Test func unsettledOrOtherDimensionsPackToUnknown() {
        #expect(PackedCoordinate(Self.report(1, 2, 3, error: 0.51)) == .unknown)
        let threeD = VivaldiReport(coordinate: VivaldiCoordinate(vector: [1, 2, 3], height: 4), error: 0.1)
        #expect(PackedCoordinate(threeD) == .unknown)
        #expect(PackedCoordinate.unknown.roundTrip(to: PackedCoordinate(Self.report(1, 2, 3))) == nil)
    }

    @Test func farCoordinatesAreClamped() {
        let far = PackedCoordinate(Self.report(9_000, -9_000, 9_000))
        #expect(far == PackedCoordinate(x: 32767, y: -32767, height: 65535))
    }

    @Test func bytesRoundTripInNetworkOrder() {
        let coordinate = PackedCoordinate(x: -2, y: 258, height: 513)
        var bytes: [UInt8] = []
        coordinate.append(to: &bytes)
        #expect(bytes == [0xFF, 0xFE, 0x01, 0x02, 0x02, 0x01])
        #expect(PackedCoordinate(bytes: bytes) == coordinate)
        #expect(PackedCoordinate(bytes: [UInt8](repeating: 0, count: 6)) == .unknown)
    }
}
