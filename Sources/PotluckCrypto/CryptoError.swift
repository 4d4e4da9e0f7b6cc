/// A failure of the crypto layer: a code to match on and a message a person can act on.
public struct CryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, as a stable identifier.
    public struct Code: RawRepresentable, Sendable, Hashable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// Input of the wrong length for a key, seed, signature or digest.
        public static let invalidLength = Code(rawValue: "invalid-length")
        /// A signature that does not verify for this key and message.
        public static let badSignature = Code(rawValue: "bad-signature")
        /// A public key that is not a valid ed25519 point (it cannot be converted or used).
        public static let invalidKey = Code(rawValue: "invalid-key")
        /// Text that is not the expected encoding (hex, peer id).
        public static let invalidEncoding = Code(rawValue: "invalid-encoding")
        /// A key exchange that produced an all-zero (weak) shared secret.
        public static let weakKeyExchange = Code(rawValue: "weak-key-exchange")

        /// Lets `catch let e as CryptoError where e.code ~= .badSignature` read naturally.
        public static func ~= (pattern: Code, error: CryptoError) -> Bool { pattern == error.code }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    static func length(_ what: String, expected: Int, got: Int) -> CryptoError {
        CryptoError(.invalidLength, "\(what) must be \(expected) bytes, got \(got)")
    }
}
