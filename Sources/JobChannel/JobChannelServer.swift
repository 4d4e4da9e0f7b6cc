// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import PotluckCrypto
import NIOCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The lender's side of the job channel (`spec/0015-job-channel.md` §3, §6).
///
/// ``bind(host:port:identity:limits:relay:handler:)`` opens the socket; nothing is served
/// until ``run()`` is called (structured: run it in a task group or a `ServiceGroup`). Each
/// accepted connection passes the ``Limits`` (connections in total and per address, §3.1),
/// then runs the handshake under its deadline; a client that fails it is dropped and counted,
/// and `handler` is never called for it. Until the handler admits the connection's job
/// (``SecureConnection/admit(frameLimit:)``), the peer's messages are held to
/// ``Limits/preAdmissionFrameBytes`` and the connection may be dropped to make room.
public final class JobChannelServer: Sendable {
    /// What a lender lets strangers' connections cost it (`spec/0015` §3.1, §5.1).
    public struct Limits: Sendable, Equatable {
        /// Connections open at once.
        public var connections = 256
        /// Connections open at once from one IPv4 address or one IPv6 /64.
        public var connectionsPerAddress = 16
        /// How long a client has for the handshake (or a relay preamble).
        public var handshakeTimeout: Duration = .seconds(5)
        /// The largest message a client may send before its job is admitted.
        public var preAdmissionFrameBytes = JobChannelServer.preAdmissionFrameBytes

        public init() {}
    }

    /// The largest message before admission (`spec/0015` §5.1): 64 KiB, enough for any job's
    /// description; payloads follow admission.
    public static let preAdmissionFrameBytes = 64 << 10

    /// Counters of what the server has done, for tests and metrics.
    public struct Statistics: Sendable, Equatable {
        /// Connections whose handshake succeeded (handler called).
        public var established = 0
        /// Connections dropped during the handshake.
        public var failedHandshakes = 0
        /// The code of the most recent handshake failure.
        public var lastFailure: ChannelError.Code?
        /// Connections refused at once: over a cap with every connection of its scope admitted.
        public var refusedConnections = 0
        /// Why the most recent connection was refused.
        public var lastRefusal: String?
        /// Connections not yet admitted that were dropped to make room for a newcomer.
        public var evictedConnections = 0
        /// Connections open now.
        public var open = 0
    }

    private struct Registry {
        var gate: ConnectionGate
        var transports: [Int: ByteTransport] = [:]
        var nextID = 0
    }

    private let listener: NIOAsyncChannel<ByteTransport, Never>
    private let identity: SigningKey
    private let limits: Limits
    private let handler: @Sendable (SecureConnection) async -> Void
    private let vouched: @Sendable (PublicKey) -> Bool
    private let relay: RelayServer?
    private let counters = Mutex(Statistics())
    private let registry: Mutex<Registry>
    /// The bound TCP port (the real one when bound with port 0).
    public let port: Int

    private init(listener: NIOAsyncChannel<ByteTransport, Never>, identity: SigningKey, limits: Limits, relay: RelayServer?,
                 vouched: @escaping @Sendable (PublicKey) -> Bool, handler: @escaping @Sendable (SecureConnection) async -> Void) {
        self.listener = listener
        self.relay = relay
        self.vouched = vouched
        self.identity = identity
        self.limits = limits
        self.handler = handler
        registry = Mutex(Registry(gate: ConnectionGate(limits: .init(total: limits.connections, perAddress: limits.connectionsPerAddress))))
        port = listener.channel.localAddress?.port ?? 0
    }

    /// Binds (port 0 = any free port). `handler` runs for each authenticated connection in its
    /// own task; the connection is closed (final frame sent) when it returns. With `relay`,
    /// connections that start with a relay preamble (`spec/0021` §5) go to it. A connection
    /// whose peer `vouched` for (a friend, a peer with receipts) is never dropped to make room,
    /// from the end of its handshake (`spec/0015` §3.1).
    public static func bind(
        host: String, port: Int, identity: SigningKey, limits: Limits = Limits(), relay: RelayServer? = nil,
        vouched: @escaping @Sendable (PublicKey) -> Bool = { _ in false },
        handler: @escaping @Sendable (SecureConnection) async -> Void
    ) async throws(ChannelError) -> JobChannelServer {
        do {
            let listener = try await ByteTransport.listen(host: host, port: port)
            return JobChannelServer(listener: listener, identity: identity, limits: limits, relay: relay, vouched: vouched, handler: handler)
        } catch {
            throw ChannelError(.io, "could not listen on \(host):\(port): \(plainSocketError(error))")
        }
    }

    /// What the server has done so far.
    public var statistics: Statistics {
        var statistics = counters.withLock { $0 }
        statistics.open = registry.withLock { $0.gate.count }
        return statistics
    }

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
    /// Returns the bytes that crossed the relay, both ways (what the relay may ask a receipt
    /// for, §5.5); a punched connection's bytes are not among them.
    @discardableResult
    func answer(relay host: String, port: Int, circuit: UInt64, timeout: Duration, punch: Duration?) async throws(ChannelError) -> Int64 {
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
        let adopted = await handshakeAndServe(transport, received: reader.buffered, timeout: limits.handshakeTimeout,
                                                relay: "\(host):\(port)", established: { connection in
            if let punching { connection.adopt(punching) }
        })
        if !adopted { punching?.cancel() }
        return transport.bytesMoved
    }

    private func serve(_ transport: ByteTransport) async {
        guard let id = enter(transport) else { return await transport.close() }
        defer { leave(id) }
        let admitted: @Sendable () -> Void = { [self] in registry.withLock { $0.gate.admit(id) } }
        // The first bytes tell a relay preamble (`PLR…`) from the job channel's magic (`PLJC`).
        var first: [UInt8] = []
        let started = ContinuousClock.now
        let expired = ExpiryFlag()
        let timer = transport.channel.eventLoop.scheduleTask(in: TimeAmount(limits.handshakeTimeout)) {
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
        let left = limits.handshakeTimeout - (ContinuousClock.now - started)
        if first.count >= 4, first.starts(with: RelayWire.family) {
            guard let relay else {
                counters.withLock {
                    $0.failedHandshakes += 1
                    $0.lastFailure = .badHandshake
                }
                return await transport.close()
            }
            return await relay.handle(transport, first: first, deadline: left, accepted: admitted)
        }
        await handshakeAndServe(transport, received: first, timeout: left, admitted: admitted)
    }

    /// Registers an arriving connection with the gate (dropping one not yet admitted if a cap
    /// is reached); `nil` when it is refused.
    private func enter(_ transport: ByteTransport) -> Int? {
        let key = Self.addressKey(transport.channel.remoteAddress)
        let (id, verdict, evicted) = registry.withLock { registry -> (Int, ConnectionGate.Verdict, ByteTransport?) in
            registry.nextID += 1
            let id = registry.nextID
            let verdict = registry.gate.arrive(id, from: key)
            var evicted: ByteTransport?
            if case .enterEvicting(let old) = verdict { evicted = registry.transports.removeValue(forKey: old) }
            if case .refuse = verdict {} else { registry.transports[id] = transport }
            return (id, verdict, evicted)
        }
        switch verdict {
        case .enter: return id
        case .enterEvicting:
            evicted?.abort()
            counters.withLock { $0.evictedConnections += 1 }
            return id
        case .refuse(let reason):
            counters.withLock {
                $0.refusedConnections += 1
                $0.lastRefusal = reason
            }
            return nil
        }
    }

    private func leave(_ id: Int) {
        registry.withLock { registry in
            registry.gate.leave(id)
            registry.transports[id] = nil
        }
    }

    /// What the per-address cap counts by: the IPv4 address, or the IPv6 address's /64.
    static func addressKey(_ address: SocketAddress?) -> String {
        guard let text = address?.ipAddress else { return "?" }
        var bytes = [UInt8](repeating: 0, count: 16)
        guard text.contains(":"), inet_pton(AF_INET6, text, &bytes) == 1 else { return text }
        if bytes.prefix(10).allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            return bytes.suffix(4).map(String.init).joined(separator: ".")  // IPv4-mapped
        }
        return stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
            .joined(separator: ":") + "::/64"
    }

    /// Returns whether the handshake succeeded (and `established` ran).
    @discardableResult
    private func handshakeAndServe(
        _ transport: ByteTransport, received: [UInt8], timeout: Duration, relay: String? = nil,
        admitted: @escaping @Sendable () -> Void = {}, established: (SecureConnection) -> Void = { _ in }
    ) async -> Bool {
        var handshake = Handshake.server(identity: identity)
        let connection: SecureConnection
        do {
            connection = try await HandshakeDriver.run(&handshake, over: transport, timeout: timeout, received: received, relay: relay)
        } catch {
            counters.withLock {
                $0.failedHandshakes += 1
                $0.lastFailure = error.code
            }
            return false
        }
        counters.withLock { $0.established += 1 }
        connection.restrict(frameLimit: limits.preAdmissionFrameBytes, onAdmit: admitted)
        if vouched(connection.peer) { admitted() }  // its frames stay small until its job is admitted
        established(connection)
        await handler(connection)
        await connection.close()
        return true
    }
}
