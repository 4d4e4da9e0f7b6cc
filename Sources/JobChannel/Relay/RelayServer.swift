// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import PotluckCrypto
import NIOCore
import Synchronization

/// A relay for lenders others cannot reach (`spec/0021-reachability.md` §5), served on the job
/// channel's own port: ``JobChannelServer`` hands it every connection that starts with `PLR`.
///
/// It only moves bytes. The job channel between borrower and lender runs end to end through it
/// (`spec/0015`), so the relay sees ciphertext and cannot pose as the lender: the borrower pins
/// the lender's key. Circuits and relayed bytes are capped.
public final class RelayServer: Sendable {
    public struct Limits: Sendable {
        /// Lenders listening at once.
        public var listeners = 64
        /// Circuits spliced at once.
        public var circuits = 32
        /// Bytes relayed per circuit, both ways together.
        public var bytesPerCircuit: Int64 = 4 << 30
        /// Bytes relayed in a day (circuits and tunnels together): past it, circuits close, new
        /// ones are refused (`full`) and tunnels drop datagrams until the day is over.
        public var bytesPerDay: Int64 = 10 << 30
        /// How long a lender has to answer a circuit request.
        public var answerTimeout: Duration = .seconds(10)
        /// How often the relay tells a listening lender (or a tunnelled node) it is alive.
        public var keepAliveInterval: Duration = .seconds(25)
        /// Nodes whose DHT datagrams it carries at once (§5.4).
        public var tunnels = 32
        /// Each tunnel's rate and permissions.
        public var tunnel = TunnelGate.Limits()
        /// How long a tunnel may stay silent (the node sends keep-alives).
        public var tunnelIdleLimit: Duration = .seconds(75)
        /// How often the relay proposes a receipt for a tunnel's datagrams, if any passed (§5.5).
        public var tunnelReceiptInterval: Duration = .seconds(3600)

        public init() {}
    }

    public struct Statistics: Sendable, Equatable {
        public var listening = 0
        public var circuitsOpened = 0
        public var circuitsRefused = 0
        public var bytesRelayed: Int64 = 0
        public var tunnels = 0
        /// Datagrams carried through tunnels, both ways, and those dropped (over a node's rate,
        /// from an endpoint it had not written to, or while its connection was backed up).
        public var datagramsTunnelled = 0
        public var datagramsDropped = 0
    }

    struct State {
        var listeners: Sessions = [:]
        var tunnels: Sessions = [:]
        var waiting: [UInt64: CheckedContinuation<Answer?, Never>] = [:]
        var open = 0
        var statistics = Statistics()
        /// The day's relaying: when it began and the bytes relayed since.
        var dayStart = ContinuousClock.now
        var relayedToday: Int64 = 0

        /// Spends `count` bytes of the day's budget; `false` once it is spent.
        mutating func spend(_ count: Int64, budget: Int64) -> Bool {
            if ContinuousClock.now - dayStart >= .seconds(86_400) {
                dayStart = .now
                relayedToday = 0
            }
            guard relayedToday < budget else { return false }
            relayedToday += count
            return true
        }
    }

    /// A lender's call back for one circuit: its connection, the bytes read past the preamble,
    /// and the local endpoint it said it is bound to.
    typealias Answer = (transport: ByteTransport, early: [UInt8], local: WireEndpoint?)

    private let identity: SigningKey
    let limits: Limits
    let state = Mutex(State())

    /// Proposes receipts for the bytes relayed and takes the lenders' answers (§5.5); none without.
    let ledger: (any RelayLedger)?

    public init(identity: SigningKey, limits: Limits = Limits(), ledger: (any RelayLedger)? = nil) {
        self.identity = identity
        self.limits = limits
        self.ledger = ledger
    }

    public var statistics: Statistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.listening = state.listeners.count
            statistics.tunnels = state.tunnels.count
            return statistics
        }
    }

    /// Ends every listening session and waiting circuit (the server is shutting down).
    func closeAll() {
        let (listeners, waiting) = state.withLock { state in
            defer { state.listeners.removeAll(); state.tunnels.removeAll(); state.waiting.removeAll() }
            return (state.listeners.values.map(\.transport) + state.tunnels.values.map(\.transport), Array(state.waiting.values))
        }
        for transport in listeners { transport.abort() }
        for waiter in waiting { waiter.resume(returning: nil) }
    }

    /// Serves one connection whose first bytes (`first`, at least 4) are a relay preamble. The
    /// preamble must be read and accepted within `deadline`; then `accepted` runs (the server
    /// stops counting the connection as evictable, `spec/0015` §3.1).
    func handle(_ transport: ByteTransport, first: [UInt8], deadline: Duration, accepted: @escaping @Sendable () -> Void) async {
        var reader = ByteReader(transport, buffered: first)
        let timer = transport.channel.eventLoop.scheduleTask(in: TimeAmount(deadline)) { transport.abort() }
        let settle: @Sendable () -> Void = {
            timer.cancel()
            accepted()
        }
        defer { timer.cancel() }
        do {
            let tag = try await reader.read(4)
            switch tag {
            case RelayWire.listenTag: try await listen(&reader, accepted: settle)
            case RelayWire.connectTag: try await connect(&reader, accepted: settle)
            case TunnelWire.tag: try await tunnel(&reader, receipts: false, accepted: settle)
            case TunnelWire.receiptsTag: try await tunnel(&reader, receipts: true, accepted: settle)
            case RelayWire.answerTag:
                let circuit = RelayWire.circuit(try await reader.read(8))
                let local = WireEndpoint(try await reader.read(RelayWire.endpointSize))
                let waiter = state.withLock { $0.waiting.removeValue(forKey: circuit) }
                guard let waiter else { return await transport.close() }
                settle()
                waiter.resume(returning: (transport, reader.buffered, local))
            default:
                await transport.close()
            }
        } catch {
            await transport.close()
        }
    }

    /// Reads the key a lender or node claims and has it sign a fresh nonce under `domain`;
    /// returns both, or `nil` (after refusing and closing) if the signature is bad.
    func authenticate(_ reader: inout ByteReader, domain: [UInt8]) async throws -> (key: PublicKey, nonce: [UInt8])? {
        let transport = reader.transport
        let key = try PublicKey(bytes: try await reader.read(32))
        let nonce = SecureRandom.bytes(32)
        try await transport.write(nonce).get()
        let signature = try Signature(bytes: try await reader.read(64))
        guard key.isValidSignature(signature, for: domain + nonce + key.bytes) else {
            try? await transport.write([RelayWire.Status.refused.rawValue]).get()
            await transport.close()
            return nil
        }
        return (key, nonce)
    }

    typealias Sessions = [PublicKey: (session: UInt64, transport: ByteTransport)]

    /// Holds `transport` as `key`'s session in `sessions` (one who comes back replaces its older
    /// session) and returns the session's id; refuses (full) and closes past `limit`.
    func register(_ key: PublicKey, _ transport: ByteTransport, in sessions: WritableKeyPath<State, Sessions>, limit: Int) async -> UInt64? {
        let session = SecureRandom.uint64()
        let admitted = state.withLock { state -> Bool in
            guard state[keyPath: sessions][key] != nil || state[keyPath: sessions].count < limit else { return false }
            state[keyPath: sessions][key]?.transport.abort()
            state[keyPath: sessions][key] = (session, transport)
            return true
        }
        guard admitted else {
            try? await transport.write([RelayWire.Status.full.rawValue]).get()
            await transport.close()
            return nil
        }
        return session
    }

    /// Lets `key`'s session go, unless a newer one replaced it.
    func unregister(_ key: PublicKey, _ session: UInt64, in sessions: WritableKeyPath<State, Sessions>) {
        state.withLock { state in
            if state[keyPath: sessions][key]?.session == session { state[keyPath: sessions][key] = nil }
        }
    }

    /// A lender proves its key, then holds the connection for circuit requests.
    private func listen(_ reader: inout ByteReader, accepted settle: @Sendable () -> Void) async throws {
        let transport = reader.transport
        guard let key = try await authenticate(&reader, domain: RelayWire.listenDomain)?.key,
              let session = await register(key, transport, in: \.listeners, limit: limits.listeners) else { return }
        settle()
        try await transport.write([RelayWire.Status.spliced.rawValue]).get()
        let keepAlive = transport.channel.eventLoop.scheduleRepeatedTask(
            initialDelay: TimeAmount(limits.keepAliveInterval), delay: TimeAmount(limits.keepAliveInterval)
        ) { _ in _ = transport.write([RelayWire.keepAlive]) }
        defer {
            keepAlive.cancel()
            unregister(key, session, in: \.listeners)
        }
        // The lender sends keep-alives and answers to receipt proposals; the session lasts
        // until it closes or sends something else.
        while true {
            let tag = try await reader.read(1)[0]
            guard tag != RelayWire.keepAlive else { continue }
            guard tag == RelayWire.countersignedTag || tag == RelayWire.refusedTag else { break }
            let length = try await reader.read(2).reduce(0) { $0 << 8 | Int($1) }
            guard length <= RelayWire.maxReceiptFrame else { break }
            let body = try await reader.read(length)
            ledger?.answered(tag == RelayWire.countersignedTag ? .countersigned(body) : .refused(String(decoding: body, as: UTF8.self)), by: key)
        }
        await transport.close()
    }

    /// A borrower asks for a lender: the relay asks the lender to call back, tells each side
    /// where the other is (for a hole punch, §6), then splices.
    private func connect(_ reader: inout ByteReader, accepted settle: @Sendable () -> Void) async throws {
        let borrower = reader.transport
        let key = try PublicKey(bytes: try await reader.read(32))
        let borrowerLocal = WireEndpoint(try await reader.read(RelayWire.endpointSize))
        let early = reader.buffered
        let circuit = SecureRandom.uint64()
        let (lender, status) = state.withLock { state -> (ByteTransport?, RelayWire.Status) in
            guard let listener = state.listeners[key] else { return (nil, .lenderAbsent) }
            guard state.open < limits.circuits, state.spend(0, budget: limits.bytesPerDay) else { return (nil, .full) }
            state.open += 1
            return (listener.transport, .spliced)
        }
        guard let lender else { return try await refuse(borrower, status) }
        defer { state.withLock { $0.open -= 1 } }
        settle()  // the lender's answer has its own deadline
        let answered: Answer? = await withCheckedContinuation { continuation in
            state.withLock { $0.waiting[circuit] = continuation }
            _ = lender.write(RelayWire.circuitRequest(circuit))
            _ = borrower.channel.eventLoop.scheduleTask(in: TimeAmount(limits.answerTimeout)) { [self] in
                self.state.withLock { $0.waiting.removeValue(forKey: circuit) }?.resume(returning: nil)
            }
        }
        guard let answered else { return try await refuse(borrower, .lenderSilent) }
        state.withLock { $0.statistics.circuitsOpened += 1 }
        let seenBorrower = WireEndpoint(borrower.channel.remoteAddress), seenLender = WireEndpoint(answered.transport.channel.remoteAddress)
        let toLender = RelayWire.Rendezvous(mine: seenLender, theirs: seenBorrower, theirsLocal: borrowerLocal)
        let toBorrower = RelayWire.Rendezvous(mine: seenBorrower, theirs: seenLender, theirsLocal: answered.local)
        _ = answered.transport.write(toLender.bytes)
        try await borrower.write([RelayWire.Status.spliced.rawValue] + toBorrower.bytes).get()
        let start = RelayedCircuit.now()
        let relayed = await splice(borrower, early: early, answered.transport, early: answered.early)
        proposeReceipt(for: RelayedCircuit(circuit: circuit, bytes: relayed, start: start, end: RelayedCircuit.now()), lender: key)
    }

    /// Sends the lender, on its listening session if it still holds one, a receipt proposal for
    /// the bytes relayed (§5.5).
    private func proposeReceipt(for circuit: RelayedCircuit, lender key: PublicKey) {
        guard circuit.bytes > 0, let ledger, let session = state.withLock({ $0.listeners[key]?.transport }),
              let proposal = ledger.proposal(for: circuit, lender: key) else { return }
        _ = session.write(RelayWire.sessionFrame(RelayWire.proposalTag, prefix: withUnsafeBytes(of: circuit.circuit.bigEndian, Array.init), proposal))
    }

    private func refuse(_ borrower: ByteTransport, _ status: RelayWire.Status) async throws {
        state.withLock { $0.statistics.circuitsRefused += 1 }
        try? await borrower.write([status.rawValue]).get()
        await borrower.close()
    }

    /// Copies bytes both ways until either side ends or the circuit's cap is reached; returns
    /// the bytes relayed (those read past the preambles, both ways).
    private func splice(_ a: ByteTransport, early fromA: [UInt8], _ b: ByteTransport, early fromB: [UInt8]) async -> Int64 {
        let budget = Budget(limits.bytesPerCircuit)
        await withTaskGroup(of: Void.self) { group in
            for (source, sink, early) in [(a, b, fromA), (b, a, fromB)] {
                group.addTask { [self] in
                    do {
                        if !early.isEmpty { try await sink.write(early).get() }
                        while let chunk = try await source.read() {
                            let count = Int64(chunk.readableBytes)
                            let left = budget.spend(count)
                            let today = self.state.withLock { state in
                                state.statistics.bytesRelayed += count
                                return state.spend(count, budget: self.limits.bytesPerDay)
                            }
                            guard left >= 0, today else { break }
                            try await sink.channel.writeAndFlush(chunk).get()
                        }
                    } catch {}
                    source.abort()
                    sink.abort()
                }
            }
        }
        return min(limits.bytesPerCircuit, limits.bytesPerCircuit - budget.spend(0))
    }
}

/// The bytes a circuit may still relay, shared by its two directions.
private final class Budget: Sendable {
    private let left: Mutex<Int64>
    init(_ bytes: Int64) { left = Mutex(bytes) }
    /// Spends `count` bytes; returns what is left (negative once over).
    func spend(_ count: Int64) -> Int64 { left.withLock { $0 -= count; return $0 } }
}
