import Bencode
import PotluckCrypto

/// A BEP 44 mutable item: a bencoded value signed by an ed25519 key, stored under
/// SHA-1(key ‖ salt) and replaced by versions with higher sequence numbers.
///
/// The signature covers ``signedBuffer(salt:sequence:value:)``: the bencoded `salt` entry (only
/// when the salt is not empty), the `seq` entry and the `v` entry, concatenated without the
/// enclosing `d`/`e` (BEP 44, "Mutable items"). `value` holds the exact bytes of `v`.
///
/// Deviations: BEP 44 does not say whether `seq` may be negative; like libtorrent, Potluck
/// refuses negative sequence numbers (203).
public struct MutableItem: Sendable, Hashable {
    /// The longest salt BEP 44 allows, in bytes.
    public static let maxSaltLength = 64

    /// The signer's ed25519 public key (`k`).
    public let key: PublicKey
    /// The salt (`salt`), possibly empty: lets one key own many targets.
    public let salt: [UInt8]
    /// The sequence number (`seq`): newer versions have higher numbers.
    public let sequence: Int64
    /// The bencoded value (`v`), byte for byte.
    public let value: [UInt8]
    /// The signature (`sig`) over ``signedBuffer(salt:sequence:value:)``.
    public let signature: Signature
    /// SHA-1(key ‖ salt): where the item lives in the DHT.
    public let target: NodeID

    /// An item with the given fields, as received; call ``validate(verifier:)`` before trusting it.
    public init(key: PublicKey, salt: [UInt8] = [], sequence: Int64, value: [UInt8], signature: Signature) {
        self.key = key
        self.salt = salt
        self.sequence = sequence
        self.value = value
        self.signature = signature
        target = Self.target(key: key, salt: salt)
    }

    /// Signs `value` (already bencoded) under `salt` and `sequence` with `key`.
    public init(signing value: [UInt8], salt: [UInt8] = [], sequence: Int64, with key: SigningKey) {
        let signature = key.sign(Self.signedBuffer(salt: salt, sequence: sequence, value: value))
        self.init(key: key.publicKey, salt: salt, sequence: sequence, value: value, signature: signature)
    }

    /// Signs the encoding of `value` under `salt` and `sequence` with `key`.
    public init(signing value: BencodeValue, salt: [UInt8] = [], sequence: Int64, with key: SigningKey) {
        self.init(signing: value.encoded(), salt: salt, sequence: sequence, with: key)
    }

    /// The bytes BEP 44 signs, e.g. `4:salt6:foobar3:seqi1e1:v12:Hello World!`; the salt entry
    /// is left out when `salt` is empty.
    public static func signedBuffer(salt: [UInt8], sequence: Int64, value: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(salt.count + value.count + 40)
        if !salt.isEmpty {
            out += Array("4:salt\(salt.count):".utf8)
            out += salt
        }
        out += Array("3:seqi\(sequence)e1:v".utf8)
        out += value
        return out
    }

    /// SHA-1(key ‖ salt), the target of a mutable item (BEP 44).
    public static func target(key: PublicKey, salt: [UInt8]) -> NodeID {
        NodeID(bytes: SHA1.hash(key.bytes + salt))!  // SHA-1 digests are always 20 bytes
    }

    /// Checks the item as BEP 44 asks a storing node to: value size (205), salt size (207),
    /// a non-negative sequence number (203), then the signature through `verifier` (206).
    ///
    /// The order follows libtorrent's `put` handler, so peers see the same code for the same
    /// fault; the costly signature check comes last.
    public func validate(verifier: SignatureVerifier) throws(ItemError) {
        try ImmutableItem.checkValueLength(value.count)
        guard salt.count <= Self.maxSaltLength else { throw .saltTooBig(salt.count) }
        guard sequence >= 0 else { throw .negativeSequence(sequence) }
        let message = Self.signedBuffer(salt: salt, sequence: sequence, value: value)
        guard verifier.verify(key, signature, message) else { throw .invalidSignature }
    }
}

/// How ``MutableItem/validate(verifier:)`` checks signatures: injectable so that a simulator
/// of 10^5–10^6 nodes can skip the ed25519 verification (about 65 µs each) it does not need.
///
/// Deviations: BEP 44 requires storing nodes to verify every signature. Only ``ed25519`` meets
/// that; ``acceptAll`` exists for simulation and must never be used by a real node.
public struct SignatureVerifier: Sendable {
    /// Whether the signature is the key's signature of the message.
    public let verify: @Sendable (PublicKey, Signature, [UInt8]) -> Bool

    public init(_ verify: @escaping @Sendable (PublicKey, Signature, [UInt8]) -> Bool) {
        self.verify = verify
    }

    /// Real ed25519 verification (libsodium, through `Crypto`). The only choice for a real node.
    public static let ed25519 = SignatureVerifier { key, signature, message in
        key.isValidSignature(signature, for: message)
    }

    /// Accepts every signature. **Simulation only**: a node using it stores forgeries.
    public static let acceptAll = SignatureVerifier { _, _, _ in true }
}
