// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Crypto
import NIOCore
import Synchronization

/// One authenticated, encrypted, message-oriented connection (`spec/0015-job-channel.md` §5–§6).
///
/// Concurrency: ``send(_:)`` and ``receive()`` may run at the same time in different tasks.
/// Several concurrent senders are safe (each frame is sealed and queued under one lock, so the
/// wire order is the sealing order); there is **one receiver at a time** — a second concurrent
/// ``receive()`` is a programming error and traps. Cancelling a task blocked in ``receive()``
/// drops the connection (the peer sees `truncated`) and throws `closed`.
///
/// Releasing the object without ``close()`` drops the TCP connection without the final frame.
public final class SecureConnection: Sendable {
    /// The authenticated remote identity.
    public let peer: PublicKey
    /// The remote end, "ip:port".
    public let remoteAddress: String
    let transport: ByteTransport
    private let sending: Mutex<SendState>
    private let receiving: Mutex<ReceiveState>

    private struct SendState {
        let sealer: FrameSealer
        var closed = false
    }

    private struct ReceiveState {
        let opener: FrameOpener
        var busy = false
        var closedLocally = false
    }

    init(session: EstablishedSession, transport: ByteTransport) {
        peer = session.peer
        remoteAddress = transport.remoteAddress
        self.transport = transport
        sending = Mutex(SendState(sealer: session.sealer))
        receiving = Mutex(ReceiveState(opener: session.opener))
    }

    deinit { transport.abort() }

    /// Sends one message (0 to ``FrameCodec/maxMessageSize`` bytes) as one frame, returning once
    /// it is handed to the kernel. Throws `frameTooLarge` (nothing sent), `closed` after
    /// ``close()``, or `io` when the connection failed.
    public func send(_ message: [UInt8]) async throws(ChannelError) {
        guard message.count <= FrameCodec.maxMessageSize else {
            throw ChannelError(.frameTooLarge, "a message of \(message.count) bytes exceeds the \(FrameCodec.maxMessageSize)-byte frame limit")
        }
        let written = try sending.withLock { state throws(ChannelError) -> EventLoopFuture<Void> in
            guard !state.closed else { throw ChannelError(.closed, "send after close") }
            return transport.write(state.sealer.seal(message))
        }
        do {
            try await written.get()
        } catch {
            throw ChannelError(.io, "could not send to \(remoteAddress): \(error)")
        }
    }

    /// The next message; `nil` once the peer closed cleanly (its `FINAL` frame arrived, and on
    /// every call after). Throws `truncated` when the TCP stream ended without it,
    /// `decryptFailed` / `frameTooLarge` on a bad frame, `closed` after ``close()`` or on cancel.
    public func receive() async throws(ChannelError) -> [UInt8]? {
        try receiving.withLock { state throws(ChannelError) in
            precondition(!state.busy, "SecureConnection.receive has one receiver at a time")
            guard !state.closedLocally else { throw ChannelError(.closed, "receive after close") }
            state.busy = true
        }
        defer { receiving.withLock { $0.busy = false } }
        while true {
            let frame = try receiving.withLock { state throws(ChannelError) in try state.opener.next() }
            switch frame {
            case .message(let message): return message
            case .final: return nil
            case nil: break
            }
            let chunk = try await readChunk()
            receiving.withLock { state in chunk.withUnsafeReadableBytes { state.opener.append($0) } }
        }
    }

    private func readChunk() async throws(ChannelError) -> ByteBuffer {
        let chunk: ByteBuffer?
        do {
            chunk = try await withTaskCancellationHandler {
                try await transport.read()
            } onCancel: { [transport] in
                transport.abort()
            }
        } catch {
            throw ChannelError(.truncated, "the connection to \(remoteAddress) failed before the peer closed it: \(error)")
        }
        if let chunk { return chunk }
        if Task.isCancelled { throw ChannelError(.closed, "receive was cancelled; the connection is dropped") }
        if receiving.withLock({ $0.closedLocally }) { throw ChannelError(.closed, "the connection was closed on this side") }
        throw ChannelError(.truncated, "the TCP stream from \(remoteAddress) ended without the peer's final frame: the connection was dropped")
    }

    /// Sends the final frame (so the peer's ``receive()`` returns `nil`), then closes the
    /// connection. Idempotent; never throws.
    public func close() async {
        let written = sending.withLock { state -> EventLoopFuture<Void>? in
            guard !state.closed else { return nil }
            state.closed = true
            return transport.write(state.sealer.seal([], final: true))
        }
        try? await written?.get()
        receiving.withLock { $0.closedLocally = true }
        await transport.close()
    }

    /// Drops the TCP connection without the final frame (tests: the peer sees `truncated`).
    func abort() {
        sending.withLock { $0.closed = true }
        transport.abort()
    }
}
