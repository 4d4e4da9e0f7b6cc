// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import CSodium
import PotluckCrypto

/// The frame layer's constants (`spec/0015-job-channel.md` §5): each frame is a 4-byte
/// big-endian length followed by that many bytes of `crypto_secretstream_xchacha20poly1305`
/// ciphertext; the length counts the ciphertext (plaintext + ``tagOverhead``).
public enum FrameCodec {
    /// The largest plaintext one frame may carry: 16 MiB. A peer announcing more is refused
    /// before anything is allocated for it.
    public static let maxMessageSize = 16 << 20
    /// Ciphertext bytes added per frame (`crypto_secretstream_xchacha20poly1305_ABYTES`, 17).
    public static let tagOverhead = Int(crypto_secretstream_xchacha20poly1305_abytes())
    /// The stream header sent once, first, in each direction (24 bytes).
    public static let headerSize = Int(crypto_secretstream_xchacha20poly1305_headerbytes())
    /// Bytes of length prefix per frame.
    public static let prefixSize = 4

    static let tagMessage = crypto_secretstream_xchacha20poly1305_tag_message()
    static let tagFinal = crypto_secretstream_xchacha20poly1305_tag_final()
    /// Marks a *moved* frame (`spec/0021` §6): libsodium's `PUSH` tag, empty plaintext.
    static let tagMoved = crypto_secretstream_xchacha20poly1305_tag_push()
}

/// One decoded frame.
enum Frame: Equatable, Sendable {
    /// An application message (tag `MESSAGE`).
    case message([UInt8])
    /// The sender's clean close (tag `FINAL`, empty plaintext).
    case final
    /// The sender's stream goes on over another TCP connection (tag `PUSH`, empty plaintext;
    /// `spec/0021-reachability.md` §6): nothing more arrives on this one.
    case moved
}

/// The sending half of one direction: secretstream *push* plus length framing (sans-I/O).
///
/// `@unchecked Sendable`: a box around libsodium's stream state, which is mutated by every
/// `seal`; its owner (``SecureConnection``) only touches it under a lock.
final class FrameSealer: @unchecked Sendable {
    private let state = UnsafeMutablePointer<crypto_secretstream_xchacha20poly1305_state>.allocate(capacity: 1)
    /// The 24-byte stream header; the receiver needs it before the first frame.
    let header: [UInt8]

    /// Starts a stream under `key` with a fresh random header.
    init(key: Bytes32) {
        precondition(sodium_init() >= 0, "libsodium could not be initialised")
        var header = [UInt8](repeating: 0, count: FrameCodec.headerSize)
        let state = self.state
        key.withUnsafeBytes { k in
            _ = crypto_secretstream_xchacha20poly1305_init_push(
                state, &header, k.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        self.header = header
    }

    deinit {
        sodium_memzero(state, MemoryLayout<crypto_secretstream_xchacha20poly1305_state>.size)
        state.deallocate()
    }

    /// The wire bytes of one frame carrying `message` under `tag` (`FINAL`: the stream's last
    /// frame). The caller checks `message.count <= FrameCodec.maxMessageSize`.
    func seal(_ message: UnsafeRawBufferPointer, tag: UInt8 = FrameCodec.tagMessage) -> [UInt8] {
        precondition(message.count <= FrameCodec.maxMessageSize, "the caller checks the frame size")
        let cipherLength = message.count + FrameCodec.tagOverhead
        return [UInt8](unsafeUninitializedCapacity: FrameCodec.prefixSize + cipherLength) { out, count in
            let length = UInt32(cipherLength)
            for index in 0..<4 { out[index] = UInt8(truncatingIfNeeded: length >> (24 - 8 * index)) }
            var written: UInt64 = 0
            let status = crypto_secretstream_xchacha20poly1305_push(
                state, out.baseAddress! + FrameCodec.prefixSize, &written,
                message.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(message.count),
                nil, 0, tag)
            precondition(status == 0 && Int(written) == cipherLength, "secretstream push cannot fail")
            count = FrameCodec.prefixSize + cipherLength
        }
    }

    func seal(_ message: [UInt8], final: Bool = false) -> [UInt8] {
        message.withUnsafeBytes { seal($0, tag: final ? FrameCodec.tagFinal : FrameCodec.tagMessage) }
    }

    /// The frame that says the rest of this stream goes over another connection.
    func sealMoved() -> [UInt8] { [UInt8]().withUnsafeBytes { seal($0, tag: FrameCodec.tagMoved) } }
}
