// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// A fingerprint of a run: 64-bit FNV-1a (Fowler, Noll & Vo) over the little-endian bytes of
/// (time in ns, sender host, receiver host, byte count) of every datagram delivered, in order.
///
/// Two runs with the same hash delivered the same datagrams at the same nanoseconds between the
/// same hosts; one differing draw anywhere changes it.
public struct TraceHash: Sendable, Hashable, CustomStringConvertible {
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a 64 offset basis
    public private(set) var events: UInt64 = 0

    public init() {}

    mutating func mix(_ word: UInt64) {
        var h = value
        var w = word
        for _ in 0..<8 {
            h = (h ^ (w & 0xFF)) &* 0x0000_0100_0000_01B3  // FNV-1a 64 prime
            w >>= 8
        }
        value = h
    }

    /// Records one delivered datagram.
    public mutating func record(time: UInt64, from: UInt32, to: UInt32, byteCount: Int) {
        mix(time)
        mix(UInt64(from) << 32 | UInt64(to))
        mix(UInt64(byteCount))
        events += 1
    }

    /// 16 lower-case hex digits.
    public var description: String {
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
