// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import CSodium
import PotluckCrypto

/// A one-connection X25519 key pair (RFC 7748): the source of the handshake's forward secrecy
/// (`spec/0015-job-channel.md` §3). The secret scalar is wiped when the key is released.
final class EphemeralKey: @unchecked Sendable {
    // @unchecked: `secret` is written once in `init` and only read afterwards.
    private let secret: UnsafeMutableRawBufferPointer
    /// The public half, sent in the clear in the handshake.
    let publicKey: Bytes32

    /// A key from a fixed 32-byte secret (test vectors); `generate()` otherwise.
    init(secret bytes: [UInt8]) {
        precondition(bytes.count == Int(crypto_scalarmult_curve25519_SCALARBYTES), "an X25519 secret is 32 bytes")
        precondition(sodium_init() >= 0, "libsodium could not be initialised")
        let secret = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 16)
        secret.copyBytes(from: bytes)
        self.secret = secret
        var publicBytes = Bytes32()
        publicBytes.withUnsafeMutableBytes { pk in
            _ = crypto_scalarmult_curve25519_base(
                pk.baseAddress!.assumingMemoryBound(to: UInt8.self),
                secret.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        publicKey = publicBytes
    }

    /// A fresh key from libsodium's secure random generator.
    static func generate() -> EphemeralKey {
        var bytes = SecureRandom.bytes(Int(crypto_scalarmult_curve25519_SCALARBYTES))
        defer { bytes.withUnsafeMutableBytes { sodium_memzero($0.baseAddress, $0.count) } }
        return EphemeralKey(secret: bytes)
    }

    deinit {
        sodium_memzero(secret.baseAddress, secret.count)
        secret.deallocate()
    }

    /// The raw X25519 shared secret with `peer`; `nil` when `peer` is a low-order point (the
    /// result would be all zeros and carry no secret).
    func sharedSecret(with peer: Bytes32) -> Bytes32? {
        var shared = Bytes32()
        let status = shared.withUnsafeMutableBytes { out in
            peer.withUnsafeBytes { pk in
                crypto_scalarmult_curve25519(
                    out.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    secret.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    pk.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        return status == 0 ? shared : nil
    }
}
