import CSodium

/// BLAKE2b (RFC 7693) through libsodium's `crypto_generichash`: Potluck's general-purpose hash
/// (job digests, record ids, checksums).
public enum Blake2b {
    /// The default digest length in bytes (32, BLAKE2b-256).
    public static let defaultLength = Int(crypto_generichash_BYTES)

    /// BLAKE2b-256 of `data`, held inline (no allocation).
    @inlinable
    public static func hash256(_ data: UnsafeRawBufferPointer) -> Bytes32 {
        var digest = Bytes32()
        digest.withUnsafeMutableBytes { out in
            generic(out, data, key: UnsafeRawBufferPointer(start: nil, count: 0))
        }
        return digest
    }

    /// BLAKE2b-256 of `data`.
    public static func hash256(_ data: [UInt8]) -> Bytes32 {
        data.withUnsafeBytes { hash256($0) }
    }

    /// BLAKE2b of `data` with a digest of `length` bytes (16...64) and an optional key
    /// (16...64 bytes) for a keyed hash (a MAC).
    public static func hash(_ data: [UInt8], length: Int = defaultLength, key: [UInt8] = []) -> [UInt8] {
        precondition((Int(crypto_generichash_BYTES_MIN)...Int(crypto_generichash_BYTES_MAX)).contains(length),
                     "BLAKE2b digest length must be 16...64 bytes")
        precondition(key.isEmpty || (Int(crypto_generichash_KEYBYTES_MIN)...Int(crypto_generichash_KEYBYTES_MAX)).contains(key.count),
                     "BLAKE2b key length must be 16...64 bytes")
        var digest = [UInt8](repeating: 0, count: length)
        digest.withUnsafeMutableBytes { out in
            data.withUnsafeBytes { input in
                key.withUnsafeBytes { generic(out, input, key: $0) }
            }
        }
        return digest
    }

    @usableFromInline
    static func generic(
        _ out: UnsafeMutableRawBufferPointer, _ data: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer
    ) {
        _ = Sodium.ready
        let status = crypto_generichash(
            out.baseAddress!.assumingMemoryBound(to: UInt8.self), out.count,
            data.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(data.count),
            key.baseAddress?.assumingMemoryBound(to: UInt8.self), key.count)
        precondition(status == 0, "crypto_generichash rejected valid lengths")
    }
}

/// Incremental BLAKE2b-256 for data that arrives in pieces (files, streams).
///
/// libsodium's state struct is 64-byte aligned, which Swift does not import, so the state lives
/// in an aligned buffer of `crypto_generichash_statebytes()` bytes owned by this value.
public struct Blake2bHasher: ~Copyable {
    private let state: UnsafeMutableRawPointer

    public init() {
        _ = Sodium.ready
        state = .allocate(byteCount: crypto_generichash_statebytes(), alignment: 64)
        crypto_generichash_init(OpaquePointer(state), nil, 0, Blake2b.defaultLength)
    }

    deinit { state.deallocate() }

    /// Adds bytes.
    public mutating func update(_ data: UnsafeRawBufferPointer) {
        crypto_generichash_update(
            OpaquePointer(state), data.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(data.count))
    }

    /// Adds bytes.
    public mutating func update(_ data: [UInt8]) {
        data.withUnsafeBytes { update($0) }
    }

    /// The digest of everything added.
    public consuming func finalize() -> Bytes32 {
        var digest = Bytes32()
        digest.withUnsafeMutableBytes { out in
            _ = crypto_generichash_final(
                OpaquePointer(state), out.baseAddress!.assumingMemoryBound(to: UInt8.self), out.count)
        }
        return digest
    }
}
