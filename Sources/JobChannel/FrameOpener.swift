// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import CSodium
import PotluckCrypto

/// The receiving half of one direction: length de-framing plus secretstream *pull*
/// (`spec/0015-job-channel.md` §5), sans-I/O. Feed bytes with ``append(_:)`` and take frames
/// with ``next()``.
///
/// It holds at most one frame's bytes plus what the last read brought: a length prefix above
/// the limit is refused as soon as its 4 bytes are in, before any buffer grows for it. After a
/// failure every call throws the same error (the stream state is no longer trustworthy).
///
/// `@unchecked Sendable`: a box around libsodium's stream state and a buffer; its owner
/// (``SecureConnection``) only touches it under a lock.
final class FrameOpener: @unchecked Sendable {
    private let state = UnsafeMutablePointer<crypto_secretstream_xchacha20poly1305_state>.allocate(capacity: 1)
    private var buffer: [UInt8] = []
    private var start = 0
    private var failure: ChannelError?
    /// Whether the peer's `FINAL` frame has arrived (later bytes are ignored).
    private(set) var finished = false
    /// The largest plaintext a frame may carry on this connection now (``FrameCodec/maxMessageSize``
    /// at most): a lender keeps it small until it admits a job (`spec/0015` §5.1).
    var limit = FrameCodec.maxMessageSize

    /// Opens the stream whose 24-byte header is `header`.
    init(key: Bytes32, header: [UInt8]) throws(ChannelError) {
        precondition(sodium_init() >= 0, "libsodium could not be initialised")
        guard header.count == FrameCodec.headerSize else {
            throw ChannelError(.badHandshake, "the stream header must be \(FrameCodec.headerSize) bytes, got \(header.count)")
        }
        let state = self.state
        let status = key.withUnsafeBytes { k in
            crypto_secretstream_xchacha20poly1305_init_pull(state, header, k.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        guard status == 0 else { throw ChannelError(.badHandshake, "the peer's stream header was refused") }
    }

    deinit {
        sodium_memzero(state, MemoryLayout<crypto_secretstream_xchacha20poly1305_state>.size)
        state.deallocate()
    }

    /// Bytes held and not yet decoded.
    var bufferedByteCount: Int { buffer.count - start }

    /// Adds bytes from the wire.
    func append(_ bytes: UnsafeRawBufferPointer) {
        guard !finished, failure == nil, !bytes.isEmpty else { return }
        if start > 0, start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    func append(_ bytes: [UInt8]) { bytes.withUnsafeBytes { append($0) } }

    /// The next complete frame, `nil` when more bytes are needed.
    func next() throws(ChannelError) -> Frame? {
        if let failure { throw failure }
        if finished { return .final }
        do {
            return try decodeOne()
        } catch {
            failure = error
            buffer = []
            start = 0
            throw error
        }
    }

    private func decodeOne() throws(ChannelError) -> Frame? {
        guard bufferedByteCount >= FrameCodec.prefixSize else { return nil }
        var length = 0
        for index in 0..<4 { length = length << 8 | Int(buffer[start + index]) }
        guard length <= limit + FrameCodec.tagOverhead else {
            let phase = limit < FrameCodec.maxMessageSize ? " before its job is admitted" : ""
            throw ChannelError(.frameTooLarge, "the peer announced a frame of \(length) bytes; this connection accepts at most \(limit + FrameCodec.tagOverhead)\(phase)")
        }
        guard length >= FrameCodec.tagOverhead else {
            throw ChannelError(.decryptFailed, "a frame of \(length) bytes is shorter than its \(FrameCodec.tagOverhead)-byte authentication tag")
        }
        guard bufferedByteCount >= FrameCodec.prefixSize + length else { return nil }
        var tag: UInt8 = 0
        var status: Int32 = -1
        let plain = buffer.withUnsafeBufferPointer { all in
            [UInt8](unsafeUninitializedCapacity: length - FrameCodec.tagOverhead) { out, count in
                var produced: UInt64 = 0
                status = crypto_secretstream_xchacha20poly1305_pull(
                    state, out.baseAddress, &produced, &tag,
                    all.baseAddress! + start + FrameCodec.prefixSize, UInt64(length), nil, 0)
                count = status == 0 ? Int(produced) : 0
            }
        }
        start += FrameCodec.prefixSize + length
        guard status == 0 else {
            throw ChannelError(.decryptFailed, "a frame failed authentication: it was altered, reordered or sent under another key")
        }
        switch tag {
        case FrameCodec.tagMessage:
            return .message(plain)
        case FrameCodec.tagFinal where plain.isEmpty:
            finished = true
            buffer = []
            start = 0
            return .final
        case FrameCodec.tagMoved where plain.isEmpty:
            // Nothing may follow on this connection: the stream goes on over the new one.
            guard bufferedByteCount == 0 else {
                throw ChannelError(.decryptFailed, "\(bufferedByteCount) bytes followed a moved frame on the connection it left")
            }
            return .moved
        default:
            throw ChannelError(.decryptFailed, "a frame carried tag \(tag) (with \(plain.count) bytes); only MESSAGE, an empty PUSH and an empty FINAL are allowed")
        }
    }
}
