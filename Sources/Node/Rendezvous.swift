import PotluckCrypto
import Dispatch
import Kademlia
import Logging
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Finding Potluck peers with no configuration, through the public Mainline DHT.
///
/// A second, **read-only** DHT node (BEP 43: it asks, never answers, and is kept out of others'
/// tables) joins the public DHT through its well-known routers, announces this node's overlay
/// port under Potluck's rendezvous topic (BEP 5 `announce_peer`), and asks for the peers
/// announced there (`get_peers`). Those are Potluck nodes: the overlay joins through them. The
/// public DHT is a meeting point only — Potluck's items never go there. Rounds repeat every few
/// seconds until peers are found, then every ``NodeOptions/rendezvousInterval``.
public enum Rendezvous {
    /// The public DHT's well-known bootstrap routers.
    public static let publicRouters = ["router.bittorrent.com:6881", "dht.transmissionbt.com:6881", "router.utorrent.com:6881"]

    /// The rendezvous topic: SHA-1 of a fixed, versioned string (an info-hash on the public DHT).
    public static let topic = NodeID(bytes: SHA1.hash(Array("potluck rendezvous v1".utf8)))!

    /// Runs rendezvous rounds until cancelled, calling `found` with the Potluck peers of each round
    /// (this node itself excluded).
    static func run(
        routers: [String], overlay: [Endpoint], interval: Duration, group: any EventLoopGroup, logger: Logger,
        found: @escaping @Sendable ([Endpoint]) -> Void
    ) async throws {
        logger.debug("rendezvous: resolving \(routers)")
        let resolved = await HostResolver.resolveAll(routers, family: .v4)
        logger.debug("rendezvous: routers \(resolved)")
        guard !resolved.isEmpty else {
            logger.warning("cannot resolve the public DHT routers \(routers) (no internet?); pass --bootstrap HOST:PORT to join a Potluck node")
            return
        }
        guard let overlayPort = overlay.first?.port else { return }
        let channel = try await UDPTransport.bind(Endpoint(address: .v4(0), port: 0), group: group, maxDatagramSize: 1500)
        let clock = NodeClock()
        try await channel.executeThenClose { inbound, _ in
            let local = channel.channel.localAddress.flatMap(Endpoint.init).map { [$0] } ?? []
            let (events, sink) = AsyncStream<DHTService.Event>.makeStream(bufferingPolicy: .bufferingOldest(4096))
            await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask {
                    for try await envelope in inbound {
                        if let source = Endpoint(envelope.remoteAddress) { sink.yield(.datagram(Array(envelope.data.readableBytesView), from: source)) }
                    }
                }
                tasks.addTask {
                    while !Task.isCancelled {
                        try await Task.sleep(for: .milliseconds(100))
                        sink.yield(.tick)
                    }
                }
                var configuration = DHTNode.Configuration()
                configuration.readOnly = true
                var node = DHTNode(id: NodeID(bytes: SecureRandom.bytes(20))!, configuration: configuration,
                                   seed: SecureRandom.uint64(), now: clock.now)
                var owner = Owner(channels: [channel.channel], bound: local)
                var round = Round(routers: resolved, overlayPort: overlayPort, overlay: overlay, interval: interval)
                for await event in events {
                    let now = clock.now
                    if case .datagram(let bytes, let source) = event {
                        owner.perform(node.receive(bytes, from: source, now: now), persist: { _ in })
                    }
                    if now >= node.nextWakeup { owner.perform(node.wake(now: now), persist: { _ in }) }
                    let completions = owner.unclaimed
                    owner.unclaimed.removeAll()
                    for command in round.step(now: now, completions: completions, tableSize: node.status.routingTableSize,
                                               logger: logger, found: found) {
                        owner.perform(node.start(command.command, request: command.request, now: now), persist: { _ in })
                    }
                }
                tasks.cancelAll()
            }
        }
    }
}

/// The rendezvous rounds as a small state machine over the public node's completions.
struct Round {
    struct Command {
        let command: DHTNode.Command
        let request: RequestID
    }

    enum Phase { case idle, joining, searching }

    let routers: [Endpoint]
    let overlayPort: UInt16
    let overlay: [Endpoint]
    let interval: Duration
    var phase = Phase.idle
    var nextRound = Timestamp.zero
    var foundBefore = false

    static let bootstrap: RequestID = 1, announce: RequestID = 2, search: RequestID = 3

    mutating func step(
        now: Timestamp, completions: [(RequestID, DHTNode.Outcome)], tableSize: Int, logger: Logger,
        found: @Sendable ([Endpoint]) -> Void
    ) -> [Command] {
        var commands: [Command] = []
        for (request, outcome) in completions {
            logger.debug("rendezvous step \(request): \(outcome)")
            switch (request, outcome) {
            case (Self.bootstrap, _):
                guard tableSize > 0 else {
                    logger.warning("no public DHT router answered; retrying")
                    finishRound(now: now)
                    continue
                }
                phase = .searching
                commands.append(Command(command: .announce(Rendezvous.topic, port: overlayPort), request: Self.announce))
                commands.append(Command(command: .getPeers(Rendezvous.topic), request: Self.search))
            case (Self.search, .peers(let peers, _)):
                let others = peers.filter { !isSelf($0) }
                if !others.isEmpty {
                    logger.info("rendezvous found \(others.count) Potluck peer(s)")
                    foundBefore = true
                    found(others)
                }
                finishRound(now: now)
            case (Self.search, _):
                finishRound(now: now)
            default:
                break
            }
        }
        if phase == .idle, now >= nextRound {
            phase = .joining
            commands.append(Command(command: .bootstrap(routers), request: Self.bootstrap))
        }
        return commands
    }

    private mutating func finishRound(now: Timestamp) {
        phase = .idle
        nextRound = now + (foundBefore ? interval : .seconds(3))
    }

    /// Whether a peer announced under the topic is this very node (same overlay port, on one of
    /// its own addresses or a wildcard one).
    private func isSelf(_ peer: Endpoint) -> Bool {
        overlay.contains { own in
            own.port == peer.port && (own.address == peer.address || own.address == .v4(0) || peer.address == .v4(0x7f00_0001))
        }
    }
}
