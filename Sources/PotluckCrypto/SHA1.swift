/// SHA-1 (FIPS 180-4 §6.1), used **only** where the Mainline DHT wire format demands it:
/// BEP 44 targets, BEP 5 info-hashes and Potluck's topic keys.
///
/// libsodium has no SHA-1, so this is a small, straightforward Swift implementation, checked
/// against the FIPS 180 examples in `spec/vectors/sha1.json`. SHA-1 is broken for collision
/// resistance; never use it for anything Potluck signs or trusts.
public enum SHA1 {
    /// The digest length in bytes (20).
    public static let length = 20

    /// The 20-byte SHA-1 digest of `data`.
    public static func hash(_ data: some Sequence<UInt8>) -> [UInt8] {
        if let digest = data.withContiguousStorageIfAvailable({ hash(UnsafeRawBufferPointer($0)) }) { return digest }
        return Array(data).withUnsafeBytes { hash($0) }
    }

    /// The 20-byte SHA-1 digest of `bytes`; allocates nothing but the result.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var h: (UInt32, UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0)
        // The message schedule and the padded tail live on the stack.
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { w in
            let whole = bytes.count / 64 * 64
            var offset = 0
            while offset < whole {
                compress(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + 64)]), into: &h, schedule: w)
                offset += 64
            }
            // FIPS 180-4 §5.1.1: the rest, a 1 bit, zeros, and the bit length; one or two blocks.
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 128) { tail in
                let rest = bytes.count - whole
                let tailLength = rest < 56 ? 64 : 128
                tail.initialize(repeating: 0)
                for index in 0..<rest { tail[index] = bytes[whole + index] }
                tail[rest] = 0x80
                let bitLength = UInt64(bytes.count) &* 8
                for index in 0..<8 { tail[tailLength - 1 - index] = UInt8(truncatingIfNeeded: bitLength >> UInt64(8 * index)) }
                let raw = UnsafeRawBufferPointer(tail)
                compress(UnsafeRawBufferPointer(rebasing: raw[0..<64]), into: &h, schedule: w)
                if tailLength == 128 { compress(UnsafeRawBufferPointer(rebasing: raw[64..<128]), into: &h, schedule: w) }
            }
        }
        return withUnsafeBytes(of: (h.0.bigEndian, h.1.bigEndian, h.2.bigEndian, h.3.bigEndian, h.4.bigEndian)) {
            Array($0.prefix(length))
        }
    }

    /// Processes one 64-byte block (FIPS 180-4 §6.1.2), using `w` (80 words) as the schedule.
    private static func compress(
        _ block: UnsafeRawBufferPointer, into h: inout (UInt32, UInt32, UInt32, UInt32, UInt32),
        schedule w: UnsafeMutableBufferPointer<UInt32>
    ) {
        for t in 0..<16 { w[t] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: 4 * t, as: UInt32.self)) }
        for t in 16..<80 { w[t] = rotate(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1) }
        var (a, b, c, d, e) = h
        for t in 0..<80 {
            let (f, k): (UInt32, UInt32) = switch t {
            case 0..<20: ((b & c) | (~b & d), 0x5A82_7999)
            case 20..<40: (b ^ c ^ d, 0x6ED9_EBA1)
            case 40..<60: ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC)
            default: (b ^ c ^ d, 0xCA62_C1D6)
            }
            let temp = rotate(a, 5) &+ f &+ e &+ k &+ w[t]
            (e, d, c, b, a) = (d, c, rotate(b, 30), a, temp)
        }
        h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e)
    }

    private static func rotate(_ x: UInt32, _ n: UInt32) -> UInt32 { x << n | x >> (32 - n) }
}
