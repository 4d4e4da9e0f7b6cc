// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Crypto
import NIOCore
import Synchronization

/// The lender's side of the job channel (`spec/0015-job-channel.md` §3, §6).
///
/// ``bind(host:port:identity:handshakeTimeout:handler:)`` opens the socket; nothing is served
/// until ``run()`` is called (structured: run it in a task group or a `ServiceGroup`). Each
/// accepted connection runs the handshake under `handshakeTimeout`; a client that fails it is
/// dropped and counted, and `handler` is never called for it.
public final class JobChannelServer: Sendable {
    /// Counters of what the server has done, for tests and metrics.
    public struct Statistics: Sendable, Equatable {
        /// Connections whose handshake succeeded (handler called).
        public var established = 0
        /// Connections dropped during the handshake.
        public var failedHandshakes = 0
        /// The code of the most recent handshake failure.
        public var lastFailure: ChannelError.Code?
    }

    private let listener: NIOAsyncChannel<ByteTransport, Never>
    private let identity: SigningKey
    private let handshakeTimeout: Duration
    private let handler: @Sendable (SecureConnection) async -> Void
    private let relay: RelayServer?
    private let counters = Mutex(Statistics())
    /// The bound TCP port (the real one when bound with port 0).
    public let port: Int

    private init(listener: NIOAsyncChannel<ByteTransport, Never>, identity: SigningKey, handshakeTimeout: Duration,
                 relay: RelayServer?, handler: @escaping @Sendable (SecureConnection) async -> Void) {
        self.listener = listener
        self.relay = relay
        self.identity = identity
        self.handshakeTimeout = handshakeTimeout
        self.handler = handler
        port = listener.channel.localAddress?.port ?? 0
    }

    /// Binds (port 0 = any free port). `handler` runs for each authenticated connection in its
    /// own task; the connection is closed (final frame sent) when it returns. With `relay`,
    /// connections that start with a relay preamble (`spec/0021` §5) go to it.
    public static func bind(
        host: String, port: Int, identity: SigningKey, handshakeTimeout: Duration = .seconds(5), relay: RelayServer? = nil,
        handler: @escaping @Sendable (SecureConnection) async -> Void
    ) async throws(ChannelError) -> JobChannelServer {
        do {
            let listener = try await ByteTransport.listen(host: host, port: port)
            return JobChannelServer(listener: listener, identity: identity, handshakeTimeout: handshakeTimeout, relay: relay, handler: handler)
        } catch {
            throw ChannelError(.io, "could not listen on \(host):\(port): \(error)")
        }
    }

    /// What the server has done so far.
    public var statistics: Statistics { counters.withLock { $0 } }

    /// Accepts and serves connections until the task is cancelled or ``close()`` is called,
    /// then waits for the connections' handlers to return. Call it once.
    public func run() async throws {
        try await withTaskCancellationHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await listener.executeThenClose { accepted in
                    for try await transport in accepted {
                        group.addTask { await self.serve(transport) }
                    }
                }
            }
        } onCancel: { [listener, relay] in
            listener.channel.close(promise: nil)
            relay?.closeAll()
        }
    }

    /// Stops accepting; ``run()`` returns once the running handlers have.
    public func close() async {
        try? await listener.channel.close().get()
        relay?.closeAll()
    }

    /// Answers the relay at `host:port` for `circuit` (`spec/0021` §5), then serves the job
    /// channel on that connection as if the borrower had dialled this server. With `punch`, the
    /// connection tries meanwhile to move to a direct one punched through both routers (§6).
    func answer(relay host: String, port: Int, circuit: UInt64, timeout: Duration, punch: Duration?) async throws(ChannelError) {
        let transport: ByteTransport
        do { transport = try await ByteTransport.connect(host: host, port: port, timeout: timeout, shareable: true) } catch {
            throw ChannelError(.io, "could not connect to \(host):\(port): \(error)")
        }
        let rendezvous: RelayWire.Rendezvous
        var reader = ByteReader(transport)
        let timer = transport.channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) { transport.abort() }
        do {
            try await transport.write(RelayWire.answer(circuit, local: WireEndpoint(transport.localAddress))).get()
            rendezvous = RelayWire.Rendezvous(try await reader.read(RelayWire.Rendezvous.size))
        } catch {
            timer.cancel()
            await transport.close()
            throw ChannelError(.io, "the relay \(host):\(port) did not splice the circuit: \(error)")
        }
        timer.cancel()
        // The punch starts now, as the borrower's does, while the handshake crosses the relay.
        let punching = punch.flatMap { HolePunch.start(from: transport.localAddress, toward: rendezvous, within: $0) }
        let adopted = await handshakeAndServe(transport, received: reader.buffered, relay: "\(host):\(port)") { connection in
            if let punching { connection.adopt(punching) }
        }
        if !adopted { punching?.cancel() }
    }

    private func serve(_ transport: ByteTransport) async {
        // The first bytes tell a relay preamble (`PLR…`) from the job channel's magic (`PLJC`).
        var first: [UInt8] = []
        let expired = ExpiryFlag()
        let timer = transport.channel.eventLoop.scheduleTask(in: TimeAmount(handshakeTimeout)) {
            expired.set()
            transport.abort()
        }
        while first.count < 4, first.starts(with: RelayWire.family.prefix(first.count)) {
            guard let chunk = try? await transport.read() else { break }
            first += chunk.readableBytesView
        }
        timer.cancel()
        if expired.isSet {
            counters.withLock {
                $0.failedHandshakes += 1
                $0.lastFailure = .timedOut
            }
            return await transport.close()
        }
        if first.count >= 4, first.starts(with: RelayWire.family) {
            guard let relay else {
                counters.withLock {
                    $0.failedHandshakes += 1
                    $0.lastFailure = .badHandshake
                }
                return await transport.close()
            }
            return await relay.handle(transport, first: first)
        }
        await handshakeAndServe(transport, received: first)
    }

    /// Returns whether the handshake succeeded (and `established` ran).
    @discardableResult
    private func handshakeAndServe(
        _ transport: ByteTransport, received: [UInt8], relay: String? = nil, established: (SecureConnection) -> Void = { _ in }
    ) async -> Bool {
        var handshake = Handshake.server(identity: identity)
        let connection: SecureConnection
        do {
            connection = try await HandshakeDriver.run(&handshake, over: transport, timeout: handshakeTimeout, received: received, relay: relay)
        } catch {
            counters.withLock {
                $0.failedHandshakes += 1
                $0.lastFailure = error.code
            }
            return false
        }
        counters.withLock { $0.established += 1 }
        established(connection)
        await handler(connection)
        await connection.close()
        return true
    }
}
