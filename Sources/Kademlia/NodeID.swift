/// A 160-bit Kademlia identifier: a node id, an info-hash or a BEP 44 target (BEP 5).
///
/// Held inline as three big-endian words so XOR, comparison and hashing need no allocation:
/// `high` holds bytes 0–7, `middle` bytes 8–15, `low` bytes 16–19 (in its upper 32 bits).
/// Ordering is the unsigned big-endian order of the 20 bytes.
public struct NodeID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var high: UInt64
    public var middle: UInt64
    public var low: UInt32

    /// The number of bytes (20) and bits (160).
    public static let byteCount = 20
    public static let bitCount = 160

    public static let zero = NodeID(high: 0, middle: 0, low: 0)
    public static let max = NodeID(high: .max, middle: .max, low: .max)

    public init(high: UInt64, middle: UInt64, low: UInt32) {
        self.high = high
        self.middle = middle
        self.low = low
    }

    /// Reads exactly 20 bytes; `nil` for any other length.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        // Contiguous bytes (arrays, slices): three unaligned big-endian loads.
        let loaded = bytes.withContiguousStorageIfAvailable { buffer in
            let raw = UnsafeRawBufferPointer(buffer)
            return NodeID(high: UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self)),
                          middle: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                          low: UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt32.self)))
        }
        if let loaded {
            self = loaded
            return
        }
        var words: (UInt64, UInt64, UInt32) = (0, 0, 0)
        for (index, byte) in bytes.enumerated() {
            switch index {
            case 0..<8: words.0 = words.0 << 8 | UInt64(byte)
            case 8..<16: words.1 = words.1 << 8 | UInt64(byte)
            default: words.2 = words.2 << 8 | UInt32(byte)
            }
        }
        self.init(high: words.0, middle: words.1, low: words.2)
    }

    /// Parses 40 hex digits; `nil` otherwise.
    public init?(hex: some StringProtocol) {
        guard hex.utf8.count == 40 else { return nil }
        var bytes: [UInt8] = []
        var iterator = hex.utf8.makeIterator()
        while let a = iterator.next(), let b = iterator.next() {
            guard let high = Self.nibble(a), let low = Self.nibble(b) else { return nil }
            bytes.append(high << 4 | low)
        }
        self.init(bytes: bytes)
    }

    /// The 20 bytes, big-endian.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.byteCount)
        appendBytes(to: &out)
        return out
    }

    /// Appends the 20 bytes to `buffer` (for encoders that build one datagram).
    public func appendBytes(to buffer: inout [UInt8]) {
        // A tuple is laid out in order with natural alignment: 8 + 8 + 4 bytes, no padding before `low`.
        withUnsafeBytes(of: (high.bigEndian, middle.bigEndian, low.bigEndian)) {
            appendRaw(UnsafeRawBufferPointer(rebasing: $0[..<Self.byteCount]), to: &buffer)
        }
    }

    /// 40 lower-case hex digits.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes { out += [digits[Int(byte >> 4)], digits[Int(byte & 15)]] }
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { hex }

    /// The XOR metric of Kademlia (Maymounkov & Mazières, 2002, §2.1): `d(x, y) = x ⊕ y`.
    @inlinable
    public static func ^ (lhs: NodeID, rhs: NodeID) -> NodeID {
        NodeID(high: lhs.high ^ rhs.high, middle: lhs.middle ^ rhs.middle, low: lhs.low ^ rhs.low)
    }

    @inlinable
    public static func < (lhs: NodeID, rhs: NodeID) -> Bool {
        (lhs.high, lhs.middle, lhs.low) < (rhs.high, rhs.middle, rhs.low)
    }

    /// The number of leading zero bits (160 for ``zero``).
    public var leadingZeroBitCount: Int {
        if high != 0 { return high.leadingZeroBitCount }
        if middle != 0 { return 64 + middle.leadingZeroBitCount }
        return 128 + low.leadingZeroBitCount
    }

    /// How many leading bits `self` and `other` share (160 when equal).
    public func commonPrefixLength(with other: NodeID) -> Int { (self ^ other).leadingZeroBitCount }

    /// Bit `index` (0 is the most significant).
    public func bit(_ index: Int) -> Bool {
        precondition((0..<Self.bitCount).contains(index), "bit index out of range")
        switch index {
        case 0..<64: return (high >> UInt64(63 - index)) & 1 == 1
        case 64..<128: return (middle >> UInt64(127 - index)) & 1 == 1
        default: return (low >> UInt32(159 - index)) & 1 == 1
        }
    }

    /// Whether `a` is closer to `self` than `b` is, in the XOR metric.
    @inlinable
    public func isCloser(_ a: NodeID, than b: NodeID) -> Bool { (a ^ self) < (b ^ self) }

    /// A uniformly random id drawn from `random`.
    public static func random(using random: inout some RandomNumberGenerator) -> NodeID {
        NodeID(high: random.next(), middle: random.next(), low: UInt32(truncatingIfNeeded: random.next() as UInt64))
    }

    /// A random id that shares exactly the first `prefixLength` bits with `self` and differs in
    /// the next one (an id in the bucket at that depth), as used to refresh a bucket.
    public func randomID(sharingPrefix prefixLength: Int, using random: inout some RandomNumberGenerator) -> NodeID {
        precondition((0..<Self.bitCount).contains(prefixLength), "prefix length out of range")
        let noise = NodeID.random(using: &random)
        let keep = NodeID.mask(leadingBits: prefixLength)
        let flip = NodeID.mask(leadingBits: prefixLength + 1) ^ keep
        let mixed = NodeID(high: (high & keep.high) | (noise.high & ~keep.high),
                           middle: (middle & keep.middle) | (noise.middle & ~keep.middle),
                           low: (low & keep.low) | (noise.low & ~keep.low))
        // Force bit `prefixLength` to differ from ours.
        let ours = (self ^ mixed)
        let differs = !(NodeID(high: ours.high & flip.high, middle: ours.middle & flip.middle, low: ours.low & flip.low) == .zero)
        return differs ? mixed : mixed ^ flip
    }

    /// An id whose first `count` bits are 1 and the rest 0.
    public static func mask(leadingBits count: Int) -> NodeID {
        precondition((0...bitCount).contains(count), "mask length out of range")
        func word64(_ bits: Int) -> UInt64 { bits <= 0 ? 0 : bits >= 64 ? .max : ~(UInt64.max >> UInt64(bits)) }
        let lowBits = count - 128
        let low: UInt32 = lowBits <= 0 ? 0 : lowBits >= 32 ? .max : ~(UInt32.max >> UInt32(lowBits))
        return NodeID(high: word64(count), middle: word64(count - 64), low: low)
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 97...102: c - 87
        case 65...70: c - 55
        default: nil
        }
    }
}

/// Appends raw bytes as one copy (viewed as `UInt8`, which may alias any memory).
func appendRaw(_ raw: UnsafeRawBufferPointer, to buffer: inout [UInt8]) {
    raw.withMemoryRebound(to: UInt8.self) { buffer.append(contentsOf: $0) }
}
