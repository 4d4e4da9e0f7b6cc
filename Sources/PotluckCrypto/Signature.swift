/// An ed25519 signature (RFC 8032 §5.1.6): 64 bytes, `R || S`.
public struct Signature: Sendable, Hashable, CustomStringConvertible {
    /// The 64 signature bytes.
    public var raw: Bytes64

    /// Wraps 64 bytes already held inline.
    public init(raw: Bytes64) { self.raw = raw }

    /// Copies a signature received from elsewhere; throws ``CryptoError/Code/invalidLength``
    /// unless it is exactly 64 bytes.
    public init(bytes: some Collection<UInt8>) throws(CryptoError) {
        guard let raw = Bytes64(bytes) else {
            throw .length("an ed25519 signature", expected: Bytes64.count, got: bytes.count)
        }
        self.raw = raw
    }

    /// A copy of the 64 bytes.
    public var bytes: [UInt8] { raw.bytes }

    public var description: String { raw.hex }
}
