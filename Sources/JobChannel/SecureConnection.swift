// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import PotluckCrypto
import NIOCore
import Synchronization

/// How a connection reaches its peer (`spec/0021-reachability.md` §5–§6).
public enum ConnectionPath: Sendable, Equatable, CustomStringConvertible {
    /// A TCP connection one side dialled.
    case direct
    /// Through the relay at `relay` ("host:port").
    case relayed(relay: String)
    /// Begun through `relay`, then moved to a connection the two sides punched.
    case punched(relay: String)

    /// One word: `direct`, `relayed` or `punched`.
    public var kind: String {
        switch self {
        case .direct: "direct"
        case .relayed: "relayed"
        case .punched: "punched"
        }
    }

    /// The relay's "host:port", if the connection went through one.
    public var relay: String? {
        switch self {
        case .direct: nil
        case .relayed(let relay), .punched(let relay): relay
        }
    }

    public var description: String {
        switch self {
        case .direct: "directly"
        case .relayed(let relay): "through the relay \(relay)"
        case .punched(let relay): "directly, through a hole punched with help from the relay \(relay)"
        }
    }
}

/// One authenticated, encrypted, message-oriented connection (`spec/0015-job-channel.md` §5–§6).
///
/// Concurrency: ``send(_:)`` and ``receive()`` may run at the same time in different tasks.
/// Several concurrent senders are safe (each frame is sealed and queued under one lock, so the
/// wire order is the sealing order); there is **one receiver at a time** — a second concurrent
/// ``receive()`` is a programming error and traps. Cancelling a task blocked in ``receive()``
/// drops the connection (the peer sees `truncated`) and throws `closed`.
///
/// A relayed connection may move to a punched one (`spec/0021` §6): each side, once it holds the
/// punched connection, sends a *moved* frame on the relay and its later frames on the new one;
/// each reads the relay until the other's *moved* frame, then the new one. The streams and their
/// keys do not change, so nothing is lost or reordered and no caller notices but in ``path``.
///
/// Releasing the object without ``close()`` drops the TCP connection without the final frame.
public final class SecureConnection: Sendable {
    /// The authenticated remote identity.
    public let peer: PublicKey
    private let firstAddress: String
    let transport: ByteTransport
    let keys: SessionKeys
    let isClient: Bool
    private let sending: Mutex<SendState>
    private let receiving: Mutex<ReceiveState>
    private let moving: Mutex<MoveState>
    /// Tells the server the job on this connection was admitted (``admit(frameLimit:)``).
    private let admission = Mutex<(@Sendable () -> Void)?>(nil)

    private struct SendState {
        let sealer: FrameSealer
        var transport: ByteTransport
        var closed = false
        /// The moved frame's write, once sent.
        var moved: EventLoopFuture<Void>?
    }

    private struct ReceiveState {
        let opener: FrameOpener
        var transport: ByteTransport
        var busy = false
        var closedLocally = false
        var moved = false
    }

    private struct MoveState {
        var path: ConnectionPath
        /// The punched connection and the bytes read past the peer's proof.
        var direct: (transport: ByteTransport, early: [UInt8])?
        /// Whether no punched connection will come (failed, or none tried).
        var settled = true
        var waiter: CheckedContinuation<(ByteTransport, [UInt8])?, Never>?
        var punch: Task<Void, Never>?
    }

    init(session: EstablishedSession, transport: ByteTransport, relay: String? = nil) {
        peer = session.peer
        firstAddress = transport.remoteAddress
        self.transport = transport
        keys = session.keys
        isClient = session.isClient
        sending = Mutex(SendState(sealer: session.sealer, transport: transport))
        receiving = Mutex(ReceiveState(opener: session.opener, transport: transport))
        moving = Mutex(MoveState(path: relay.map { .relayed(relay: $0) } ?? .direct))
    }

    deinit {
        transport.abort()
        moving.withLock { state in
            state.punch?.cancel()
            state.direct?.transport.abort()
        }
    }

    /// The remote end, "ip:port" (the relay's until the connection moves to a punched one).
    public var remoteAddress: String { moving.withLock { $0.direct?.transport.remoteAddress } ?? firstAddress }

    /// How the connection reaches the peer now.
    public var path: ConnectionPath { moving.withLock { $0.path } }

    /// Whether no punch is under way: none was tried, or the one tried ended either way.
    var punchSettled: Bool { moving.withLock { $0.settled } }

    // MARK: Admission (spec 0015 §5.1)

    /// The largest message the peer may send now. A lender's server starts each connection at
    /// ``JobChannelServer/Limits/preAdmissionFrameBytes``; a client's accepts the full
    /// ``FrameCodec/maxMessageSize``.
    public var incomingFrameLimit: Int { receiving.withLock { $0.opener.limit } }

    /// Sets the largest message the peer may send from now on (at most
    /// ``FrameCodec/maxMessageSize``): a larger frame ends ``receive()`` with `frameTooLarge`.
    public func limitIncomingFrames(to bytes: Int) {
        receiving.withLock { $0.opener.limit = min(max(bytes, 0), FrameCodec.maxMessageSize) }
    }

    /// The lender admitted this connection's job: messages up to `frameLimit` may come, and the
    /// server will not drop the connection to make room for others (`spec/0015` §3.1).
    public func admit(frameLimit: Int) {
        limitIncomingFrames(to: frameLimit)
        let admitted = admission.withLock { hook in
            defer { hook = nil }
            return hook
        }
        admitted?()
    }

    /// Used by the server: the pre-admission frame limit and what ``admit(frameLimit:)`` tells it.
    func restrict(frameLimit: Int, onAdmit: @escaping @Sendable () -> Void) {
        limitIncomingFrames(to: frameLimit)
        admission.withLock { $0 = onAdmit }
    }

    /// Sends one message (0 to ``FrameCodec/maxMessageSize`` bytes) as one frame, returning once
    /// it is handed to the kernel. Throws `frameTooLarge` (nothing sent), `closed` after
    /// ``close()``, or `io` when the connection failed.
    public func send(_ message: [UInt8]) async throws(ChannelError) {
        guard message.count <= FrameCodec.maxMessageSize else {
            throw ChannelError(.frameTooLarge, "a message of \(message.count) bytes exceeds the \(FrameCodec.maxMessageSize)-byte frame limit")
        }
        let written = try sending.withLock { state throws(ChannelError) -> EventLoopFuture<Void> in
            guard !state.closed else { throw ChannelError(.closed, "send after close") }
            return state.transport.write(state.sealer.seal(message))
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
            case .moved:
                try await followMove()
                continue
            case nil: break
            }
            let chunk = try await readChunk()
            receiving.withLock { state in chunk.withUnsafeReadableBytes { state.opener.append($0) } }
        }
    }

    private func readChunk() async throws(ChannelError) -> ByteBuffer {
        let chunk: ByteBuffer?
        let transport = receiving.withLock { $0.transport }
        do {
            chunk = try await withTaskCancellationHandler {
                try await transport.read()
            } onCancel: {
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
            return state.transport.write(state.sealer.seal([], final: true))
        }
        try? await written?.get()
        receiving.withLock { $0.closedLocally = true }
        let (punch, direct, waiter) = moving.withLock { state in
            defer { state.waiter = nil }
            return (state.punch, state.direct?.transport, state.waiter)
        }
        punch?.cancel()
        waiter?.resume(returning: nil)
        await direct?.close()
        await transport.close()
    }

    /// Drops the TCP connections without the final frame (tests: the peer sees `truncated`).
    func abort() {
        sending.withLock { $0.closed = true }
        transport.abort()
        moving.withLock { $0.direct?.transport.abort() }
    }

    // MARK: Moving to a punched connection (spec 0021 §6)

    /// Moves to the connection `punch` opens (``HolePunch``) once both sides proved the session's
    /// key on it; until then, and for good if it fails, the connection stays where it is.
    /// Nothing waits for it.
    func adopt(_ punch: Task<ByteTransport?, Never>) {
        moving.withLock { state in
            guard state.punch == nil else { return }
            state.settled = false
            state.punch = Task { [weak self, keys, isClient] in
                let opened = await withTaskCancellationHandler { await punch.value } onCancel: { punch.cancel() }
                var direct: (transport: ByteTransport, early: [UInt8])?
                if let opened, let early = await HolePunch.prove(opened, keys: keys, isClient: isClient, timeout: .seconds(5)) {
                    direct = (opened, early)
                }
                guard let self else {
                    direct?.transport.abort()
                    return
                }
                self.settle(direct)
            }
        }
    }

    /// Takes the punch's outcome: moves the sending side (and hands the connection to a
    /// receiver waiting on the peer's moved frame), or settles on the relay.
    private func settle(_ direct: (transport: ByteTransport, early: [UInt8])?) {
        let waiter = moving.withLock { state in
            defer { state.waiter = nil }
            state.settled = true
            state.direct = direct
            if direct != nil, case .relayed(let relay) = state.path { state.path = .punched(relay: relay) }
            return state.waiter
        }
        waiter?.resume(returning: direct)
        guard let direct else { return }
        let moved = sending.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.moved = state.transport.write(state.sealer.sealMoved())
            state.transport = direct.transport
            return true
        }
        if !moved { direct.transport.abort() }
        retireRelayOnceBothMoved()
    }

    /// The peer's stream goes on over the punched connection: read it from there, waiting for
    /// this side's punch to finish if it has not yet.
    private func followMove() async throws(ChannelError) {
        let direct: (ByteTransport, [UInt8])? = await withCheckedContinuation { continuation in
            let ready = moving.withLock { state -> (ByteTransport, [UInt8])?? in
                if let direct = state.direct { return .some(direct) }
                if state.settled { return .some(nil) }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
        guard let (transport, early) = direct else {
            throw ChannelError(.truncated, "the peer moved the connection to a punched one this side does not hold")
        }
        receiving.withLock { state in
            state.transport = transport
            state.moved = true
            state.opener.append(early)
        }
        retireRelayOnceBothMoved()
    }

    /// Closes the relayed connection once both directions left it (after the moved frame's write).
    private func retireRelayOnceBothMoved() {
        guard receiving.withLock({ $0.moved }), let written = sending.withLock({ $0.moved }) else { return }
        written.whenComplete { [transport] _ in transport.abort() }
    }
}
