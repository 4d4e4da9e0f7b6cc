/// A fixed number of bytes held inline, with no heap allocation: keys, signatures, digests.
///
/// The storage is a SIMD vector of `UInt64`, which gives `Hashable`, `Sendable` and a
/// contiguous in-memory layout of exactly `Storage.scalarCount * 8` bytes for free.
public struct FixedBytes<Storage: SIMD & Sendable>: Sendable, Hashable where Storage.Scalar == UInt64 {
    @usableFromInline var storage: Storage

    /// The number of bytes.
    public static var count: Int { Storage.scalarCount * 8 }

    /// All zero bytes.
    public init() { storage = Storage() }

    /// Copies exactly ``count`` bytes; `nil` for any other length.
    public init?(_ bytes: some Collection<UInt8>) {
        guard bytes.count == Self.count else { return nil }
        storage = Storage()
        Swift.withUnsafeMutableBytes(of: &storage) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
    }

    /// Calls `body` with the bytes.
    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: storage, body)
    }

    /// Calls `body` with the mutable bytes (to let a C function fill them).
    @inlinable
    public mutating func withUnsafeMutableBytes<R>(
        _ body: (UnsafeMutableRawBufferPointer) throws -> R
    ) rethrows -> R {
        try Swift.withUnsafeMutableBytes(of: &storage, body)
    }

    /// A copy of the bytes.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Lower-case hexadecimal.
    public var hex: String { Hex.encode(bytes) }
}

/// 32 inline bytes: ed25519 and X25519 keys, BLAKE2b-256 digests.
public typealias Bytes32 = FixedBytes<SIMD4<UInt64>>
/// 64 inline bytes: ed25519 signatures.
public typealias Bytes64 = FixedBytes<SIMD8<UInt64>>
