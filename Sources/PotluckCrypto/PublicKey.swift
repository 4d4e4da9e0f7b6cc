import CSodium

/// An ed25519 public key (RFC 8032 §5.1.5): 32 bytes. It is a Potluck peer's identity.
///
/// Verification uses libsodium's `crypto_sign_verify_detached`, which also rejects
/// non-canonical encodings and small-order keys (stricter than RFC 8032 requires; see
/// libsodium's documentation). A peer's human-friendly form is its ``peerID``.
public struct PublicKey: Sendable, Hashable, CustomStringConvertible {
    /// The 32 key bytes.
    public var raw: Bytes32

    /// Wraps 32 bytes already held inline.
    public init(raw: Bytes32) { self.raw = raw }

    /// Copies a key received from elsewhere; throws ``CryptoError/Code/invalidLength``
    /// unless it is exactly 32 bytes.
    public init(bytes: some Collection<UInt8>) throws(CryptoError) {
        guard let raw = Bytes32(bytes) else {
            throw .length("an ed25519 public key", expected: Bytes32.count, got: bytes.count)
        }
        self.raw = raw
    }

    /// A copy of the 32 bytes.
    public var bytes: [UInt8] { raw.bytes }

    /// 64 lower-case hex digits.
    public var hex: String { raw.hex }

    public var description: String { peerID }

    /// Whether `signature` is this key's signature of `message`.
    @inlinable
    public func isValidSignature(_ signature: Signature, for message: UnsafeRawBufferPointer) -> Bool {
        raw.withUnsafeBytes { key in
            signature.raw.withUnsafeBytes { sig in
                Self.verify(
                    sig.baseAddress!, message.baseAddress, UInt64(message.count), key.baseAddress!)
            }
        }
    }

    /// Whether `signature` is this key's signature of `message`.
    public func isValidSignature(_ signature: Signature, for message: [UInt8]) -> Bool {
        message.withUnsafeBytes { isValidSignature(signature, for: $0) }
    }

    /// Checks `signature`, throwing ``CryptoError/Code/badSignature`` with the reason when it
    /// does not verify.
    public func verify(_ signature: Signature, for message: [UInt8]) throws(CryptoError) {
        guard isValidSignature(signature, for: message) else {
            throw CryptoError(
                .badSignature,
                "the signature does not verify: the message was changed, or it was signed by another key than \(peerID)"
            )
        }
    }

    @usableFromInline
    static func verify(
        _ signature: UnsafeRawPointer, _ message: UnsafeRawPointer?, _ length: UInt64,
        _ key: UnsafeRawPointer
    ) -> Bool {
        _ = Sodium.ready
        return crypto_sign_verify_detached(
            signature.assumingMemoryBound(to: UInt8.self),
            message?.assumingMemoryBound(to: UInt8.self), length,
            key.assumingMemoryBound(to: UInt8.self)) == 0
    }
}
