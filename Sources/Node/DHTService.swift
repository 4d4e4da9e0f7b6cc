import ControlAPI
import JobChannel
import PotluckCrypto
import Foundation
import Kademlia
import Logging
import Reachability
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The real DHT node: one task owns the ``DHTNode`` state machine and feeds it datagrams from
/// SwiftNIO UDP sockets, commands from the control socket and ticks of a monotonic clock; it
/// carries out the machine's actions (send, persist, complete). Shuts down cleanly on SIGINT and
/// SIGTERM when run in a `ServiceGroup`.
public final class DHTService: Service, Sendable {
    public typealias ReadyHandler = @Sendable (_ bound: [Endpoint], _ nodeID: NodeID) -> Void

    let options: NodeOptions
    let identity: SigningKey
    let persistence: NodePersistence
    let logger: Logger
    /// Borrowers that asked for work, for the receipt keeper to gather (``Askers``).
    let askers = Askers()
    let onReady: ReadyHandler
    let clock = NodeClock()
    /// The job service and its `tcp://` endpoint, once bound.
    let jobs = Mutex<(service: JobService, endpoint: String, port: UInt16)?>(nil)
    /// The job channel's server, once bound (a lender behind a NAT serves relayed circuits on it).
    let jobServer = Mutex<JobChannelServer?>(nil)
    /// The relays this node listens at while others cannot reach it (``RelayKeeper``), in the
    /// order they took it.
    let relays = Mutex<[Endpoint]>([])
    /// Whether and where others can reach this node, kept current by ``ReachabilityMonitor``.
    let reachability = Mutex<Reachability?>(nil)
    /// Set once the node found that its network blocks UDP (it stays so for the node's life),
    /// and the relay whose tunnel carries its datagrams meanwhile (``TunnelKeeper``).
    let udpBlocked = Mutex<(blocked: Bool, tunnel: String?)>((false, nil))
    /// The `--bootstrap` hosts and how joining through them went (``Bootstrapper``).
    let bootstrapping = Mutex<[BootstrapHost]>([])
    /// The job files this node runs for its owner, detached from a terminal (with jobs on).
    let detached = Mutex<DetachedJobs?>(nil)
    /// The control API's answers, once the node runs (the API bench serves them over another protocol).
    public var control: ControlHandler? { controlHandler.withLock { $0 } }
    private let controlHandler = Mutex<ControlHandler?>(nil)
    /// What `/metrics` last reported of the core's counters.
    let metricsScrape = MetricsScrape()
    /// The control API's localhost URL (`http://127.0.0.1:PORT`), once it listens.
    let httpAddress = Mutex<String?>(nil)

    public init(options: NodeOptions, identity: SigningKey, persistence: NodePersistence, logger: Logger,
                onReady: @escaping ReadyHandler = { _, _ in }) {
        self.options = options
        self.identity = identity
        self.persistence = persistence
        self.logger = logger
        self.onReady = onReady
    }

    /// What the owner tells ``ReachabilityMonitor``: the reports, BEP 43's modes, the table size.
    typealias Observation = (seen: [Endpoint.Address: Endpoint], presence: (Bool, Bool), tableSize: Int)

    enum Event: Sendable {
        case datagram([UInt8], from: Endpoint)
        case tick
        case command(DHTNode.Command, CheckedContinuation<DHTNode.Outcome, Never>)
        /// Reads the node's state on the owner task (the closure resumes its caller).
        case inspect(@Sendable (DHTNode) -> Void)
        case published(Item)
        /// Potluck peers found by the rendezvous: join the overlay through them.
        case join([Endpoint])
        /// What other nodes report seeing this node at, and its BEP 43 modes.
        case observed(CheckedContinuation<Observation, Never>)
        /// A lookup of the node's own id: it asks its neighbours (which report its address) and
        /// enters their tables if it answers.
        case lookupSelf
        /// BEP 43's modes (``ReachabilityMonitor``).
        case setPresence(readOnly: Bool, staysOutOfTables: Bool)
        /// From now on, send every datagram through this relay's tunnel (`nil`: through the
        /// sockets again), as UDP is blocked (``TunnelKeeper``).
        case tunnel(DatagramTunnel?)
        /// The router says this is the node's public address (a port mapping): take its BEP 42 id.
        case publicAddress(Endpoint.Address)
    }

    public func run() async throws {
        // One node per data directory: a second one would take over the control socket.
        let lock = try DataDirectoryLock.acquire(dataDirectory: options.dataDirectory)
        NodeMetrics.start()
        defer { lock.release() }
        MemoryReturn.configure()
        let group = MultiThreadedEventLoopGroup.singleton
        var channels: [UDPTransport.Channel] = []
        for endpoint in options.listen {
            do {
                channels.append(try await UDPTransport.bind(endpoint, group: group, maxDatagramSize: options.dht.maxDatagramSize))
            } catch {
                throw NodeError("cannot listen on \(endpoint): \(plainSocketError(error)); is another node using that port? Try --listen 127.0.0.1:0")
            }
        }
        let bound = channels.compactMap { $0.channel.localAddress.flatMap(Endpoint.init) }
        // A second socket per address, on another port, for dial-backs (spec 0021 §4.1): a reply
        // to it proves the endpoint answers strangers, not just the port it wrote to.
        var dialBack: [(UDPTransport.Channel, Endpoint)] = []
        for endpoint in bound {
            guard let channel = try? await UDPTransport.bind(Endpoint(address: endpoint.address, port: 0), group: group,
                                                             maxDatagramSize: options.dht.maxDatagramSize),
                  let local = channel.channel.localAddress.flatMap(Endpoint.init) else { continue }
            dialBack.append((channel, local))
        }
        let events = Mailbox<Event>(capacity: 8192)
        try await withOpenChannels(channels[...] + dialBack.map(\.0)) { inbounds in
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                for inbound in inbounds {
                    tasks.addTask { try await Self.read(inbound, into: events) }
                }
                tasks.addTask { [tick = options.tickInterval] in
                    while !Task.isCancelled {
                        try await Task.sleep(for: tick)
                        events.post(.tick)
                    }
                }
                if options.servesJobs, let host = bound.first {
                    let server = try await bindJobService(host: host)
                    tasks.addTask { try await server.run() }
                    try startDetachedJobs(handler: ControlHandler(service: self, events: events, bound: bound))
                }
                tasks.addTask { [self] in try await ReachabilityMonitor(service: self, events: events, bound: bound).run() }
                tasks.addTask { [self] in try await TunnelKeeper(service: self, events: events, handler: ControlHandler(service: self, events: events, bound: bound)).run() }
                tasks.addTask { [self] in
                    try await RelayKeeper(service: self, handler: ControlHandler(service: self, events: events, bound: bound)).run()
                }
                let handler = ControlHandler(service: self, events: events, bound: bound)
                controlHandler.withLock { $0 = handler }
                let control = ControlServer(handler: handler, logger: logger)
                tasks.addTask { [options] in
                    try await control.runUnixSocket(at: ControlSocket.path(inDataDirectory: options.dataDirectory), group: group) {
                        SystemdNotify.send("READY=1\nSTATUS=listening on \(bound.map(\.description).joined(separator: ", "))")
                    }
                }
                if let http = options.http {
                    let token = try APIToken.loadOrCreate(inDataDirectory: options.dataDirectory)
                    tasks.addTask { [self, logger] in
                        do {
                            try await control.runTCP(host: http.addressText, port: Int(http.port), token: token, group: group) { port in
                                let url = "http://\(Endpoint(address: http.address, port: UInt16(port)))"
                                self.httpAddress.withLock { $0 = url }
                                logger.info("dashboard and API at \(url) (token in \(APIToken.path(inDataDirectory: self.options.dataDirectory)))")
                            }
                        } catch {
                            logger.error("cannot serve the dashboard on \(http): \(plainSocketError(error)); try --http 127.0.0.1:0")
                        }
                    }
                }
                tasks.addTask { try await MemoryReturn.run() }
                tasks.addTask { [self] in try await Bootstrapper(service: self, events: events).run() }
                tasks.addTask { [self] in
                    try await OfferRefresher(service: self, handler: ControlHandler(service: self, events: events, bound: bound)).run()
                }
                tasks.addTask { [self] in
                    try await ReceiptKeeper(service: self, handler: ControlHandler(service: self, events: events, bound: bound),
                                            interval: options.receiptsInterval).run(gathering: askers.stream)
                }
                if options.useDefaultBootstrap && options.bootstrap.isEmpty {
                    tasks.addTask { [options, logger] in
                        do {
                            try await Rendezvous.run(routers: options.rendezvousRouters, overlay: bound, interval: options.rendezvousInterval,
                                                     group: group, logger: logger) { peers in events.post(.join(peers)) }
                        } catch {
                            logger.warning("the public DHT rendezvous stopped: \(error)")
                        }
                    }
                }
                try await withGracefulShutdownHandler {
                    try await ownerLoop(events: events, channels: channels.map(\.channel), bound: bound,
                                        dialBack: dialBack.map { ($0.0.channel, $0.1) })
                } onGracefulShutdown: { [self] in
                    SystemdNotify.send("STOPPING=1")
                    detached.withLock { $0 }?.stopAll()
                    events.finish()
                }
                tasks.cancelAll()
            }
        }
    }

    /// Opens each channel in turn (NIO's scoped `executeThenClose`), then runs `body` with all
    /// inbound streams; datagrams are sent on the channels directly (see ``Owner``).
    private func withOpenChannels(
        _ channels: ArraySlice<UDPTransport.Channel>,
        inbounds: [NIOAsyncChannelInboundStream<AddressedEnvelope<ByteBuffer>>] = [],
        body: ([NIOAsyncChannelInboundStream<AddressedEnvelope<ByteBuffer>>]) async throws -> Void
    ) async throws {
        guard let first = channels.first else { return try await body(inbounds) }
        try await first.executeThenClose { inbound, _ in
            try await withOpenChannels(channels.dropFirst(), inbounds: inbounds + [inbound], body: body)
        }
    }

    private static func read(_ inbound: NIOAsyncChannelInboundStream<AddressedEnvelope<ByteBuffer>>,
                             into events: Mailbox<Event>) async throws {
        for try await envelope in inbound {
            guard let source = Endpoint(envelope.remoteAddress) else { continue }
            events.post(.datagram(Array(envelope.data.readableBytesView), from: source))
        }
    }
}

/// Monotonic time for the state machine (`Timestamp` counts from the node's start) and wall
/// time for persisted records.
struct NodeClock: Sendable {
    let origin = ContinuousClock.now

    var now: Timestamp {
        let elapsed = ContinuousClock.now - origin
        return Timestamp(nanoseconds: 1_000_000_000 + UInt64(elapsed.components.seconds) * 1_000_000_000
                         + UInt64(elapsed.components.attoseconds / 1_000_000_000))
    }

    var unixMilliseconds: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// The monotonic timestamp of a past wall-clock time.
    func timestamp(ofUnixMilliseconds then: Int64) -> Timestamp {
        let ageMilliseconds = max(0, unixMilliseconds - then)
        return now + Duration.milliseconds(-ageMilliseconds)
    }
}

/// A node failure a person can act on.
public struct NodeError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
