// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import NIOCore
import NIOPosix
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A TCP connection that only moves bytes: one read at a time, asked for by the caller.
///
/// The channel runs with `autoRead` off, so nothing is read from the socket until a caller
/// asks: the kernel's receive buffer is the only inbound queue, and a slow reader pushes back
/// on the sender through TCP. Writes complete when NIO has handed the bytes to the kernel.
final class ByteTransport: Sendable {
    let channel: any Channel
    private let reader: NIOLoopBound<ReadHandler>
    private let moved = Atomic<Int64>(0)
    /// Bytes read and written so far, both ways together (what a relayed lender counts, §5.5).
    var bytesMoved: Int64 { moved.load(ordering: .relaxed) }
    /// "ip:port" of the remote end (once connected).
    var remoteAddress: String {
        let address = channel.remoteAddress
        return "\(address?.ipAddress ?? "?"):\(address?.port ?? 0)"
    }

    private init(channel: any Channel, reader: NIOLoopBound<ReadHandler>) {
        self.channel = channel
        self.reader = reader
    }

    /// The channel initializer for client and accepted channels (runs on the channel's loop).
    static func initialize(_ channel: any Channel) -> EventLoopFuture<ByteTransport> {
        channel.eventLoop.makeCompletedFuture {
            let handler = ReadHandler()
            try channel.pipeline.syncOperations.addHandler(handler)
            return ByteTransport(channel: channel, reader: NIOLoopBound(handler, eventLoop: channel.eventLoop))
        }
    }

    /// Opens a TCP connection (`autoRead` off). With `shareable`, the local port may be bound
    /// again by ``connect(from:to:timeout:)`` while this connection lasts (`SO_REUSEADDR`,
    /// `SO_REUSEPORT`): a hole punch leaves from the port a relay saw (`spec/0021` §6).
    /// With `source`, the connection leaves from that local address.
    static func connect(host: String, port: Int, timeout: Duration, shareable: Bool = false, source: String? = nil) async throws -> ByteTransport {
        var bootstrap = bootstrap(timeout: timeout, shareable: shareable)
        if let source { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: source, port: 0)) }
        return try await bootstrap.connect(host: host, port: port) { initialize($0) }
    }

    /// Opens a TCP connection from the local endpoint `local`, shared with the connections
    /// already bound there; the peer may be opening one to it at the same moment (TCP
    /// simultaneous open, RFC 9293 §3.5).
    static func connect(from local: SocketAddress, to remote: SocketAddress, timeout: Duration) async throws -> ByteTransport {
        try await bootstrap(timeout: timeout, shareable: true).bind(to: local).connect(to: remote) { initialize($0) }
    }

    private static func bootstrap(timeout: Duration, shareable: Bool) -> ClientBootstrap {
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.autoRead, value: false)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(TimeAmount(timeout))
        if shareable {
            bootstrap = bootstrap
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelOption(reusePort, value: 1)
        }
        return bootstrap
    }

    /// The local endpoint (`nil` once closed).
    var localAddress: SocketAddress? { channel.localAddress }

    /// Listens for TCP connections (`autoRead` off on each accepted one).
    static func listen(host: String, port: Int) async throws -> NIOAsyncChannel<ByteTransport, Never> {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port) { initialize($0) }
    }

    /// Listens on `local`, shared with the connections already bound there (a hole punch's
    /// second way in, `spec/0021` §6).
    static func listen(on local: SocketAddress) async throws -> NIOAsyncChannel<ByteTransport, Never> {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(reusePort, value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(to: local) { initialize($0) }
    }

    private static let reusePort = ChannelOptions.Types.SocketOption(level: .init(rawValue: SOL_SOCKET), name: .init(rawValue: SO_REUSEPORT))

    /// The next bytes from the peer; `nil` once the stream has ended. One reader at a time.
    func read() async throws -> ByteBuffer? {
        let chunk = try await withCheckedThrowingContinuation { continuation in
            reader.eventLoop.execute { self.reader.value.request(continuation) }
        }
        if let chunk { moved.add(Int64(chunk.readableBytes), ordering: .relaxed) }
        return chunk
    }

    /// Queues `bytes` for writing now (in call order), returning when they reach the kernel.
    func write(_ bytes: [UInt8]) -> EventLoopFuture<Void> {
        moved.add(Int64(bytes.count), ordering: .relaxed)
        return channel.writeAndFlush(channel.allocator.buffer(bytes: bytes))
    }

    /// Closes the connection and waits until it is closed.
    func close() async {
        try? await channel.close().get()
    }

    /// Closes the connection without waiting (from any thread).
    func abort() {
        channel.close(promise: nil)
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// Hands each read to the one waiting caller; asks the socket for more only when a caller waits.
final class ReadHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private var context: ChannelHandlerContext?
    private var chunks: [ByteBuffer] = []
    private var ended = false
    private var failure: (any Error)?
    private var waiter: CheckedContinuation<ByteBuffer?, any Error>?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        ended = true
        deliver()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        chunks.append(unwrapInboundIn(data))
        deliver()
    }

    func channelInactive(context: ChannelHandlerContext) {
        ended = true
        deliver()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failure = error
        deliver()
        context.close(promise: nil)
    }

    /// Registers the one waiting reader and reads from the socket if nothing is buffered.
    func request(_ continuation: CheckedContinuation<ByteBuffer?, any Error>) {
        precondition(waiter == nil, "ByteTransport.read has one reader at a time")
        waiter = continuation
        deliver()
        if waiter != nil {
            if let context { context.read() } else { ended = true; deliver() }
        }
    }

    private func deliver() {
        guard let waiter else { return }
        if !chunks.isEmpty {
            self.waiter = nil
            waiter.resume(returning: chunks.removeFirst())
        } else if let failure {
            self.waiter = nil
            waiter.resume(throwing: failure)
        } else if ended {
            self.waiter = nil
            waiter.resume(returning: nil)
        }
    }
}
