import Crypto
import JobChannel
import Kademlia
import Logging
import Reachability
import Synchronization

/// Relays for lenders others cannot reach (`spec/0021-reachability.md` §5), both sides:
/// - a reachable node that volunteers (`--relay`) announces its job port under ``topic``;
/// - a lender behind a NAT looks the topic up and listens at up to ``relaysPerLender`` relays
///   at once, whose endpoints then go into its offer (``DHTService/advertisedJobsEndpoint()``),
///   so that a relay going away does not cut it off; when a session drops it tries another.
struct RelayKeeper {
    let service: DHTService
    let handler: ControlHandler

    /// The topic relays announce themselves under (an info-hash).
    static let topic = NodeID(bytes: SHA1.hash(Array("potluck relays v1".utf8)))!
    /// How often a relay announces itself again (BEP 5 peers expire after 30 minutes).
    static let announceInterval: Duration = .seconds(600)
    /// How long to wait before looking again when no relay would take this node.
    static let retry: Duration = .seconds(5)
    /// Relays a lender behind a NAT listens at, at once.
    static let relaysPerLender = 2

    func run() async throws {
        var nextAnnounce = service.clock.now
        while true {
            let now = service.clock.now
            let reach = service.reachability.withLock { $0 }
            let jobsPort = service.jobs.withLock { $0?.port }
            if service.options.relays, reach?.isReachable == true, let jobsPort, now >= nextAnnounce {
                if case .announced(let count, _) = await handler.run(.announce(Self.topic, port: jobsPort)) {
                    service.logger.info("relaying for unreachable lenders: announced on \(count) node(s)")
                    nextAnnounce = now + Self.announceInterval
                }
            }
            if reach?.joinsReadOnly == true, let server = service.jobServer.withLock({ $0 }) {
                await listenAtRelays(server: server)
            }
            try await Task.sleep(for: Self.retry)
        }
    }

    /// Finds relays and holds sessions at up to ``relaysPerLender`` of them, trying the next
    /// one found when a session ends; returns once every session ended.
    private func listenAtRelays(server: JobChannelServer) async {
        guard case .peers(let found, _) = await handler.run(.getPeers(Self.topic)), !found.isEmpty else { return }
        var candidates = Set(found).sorted(by: { $0.description < $1.description }).makeIterator()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<Self.relaysPerLender {
                guard let relay = candidates.next() else { break }
                group.addTask { await listen(at: relay, server: server) }
            }
            for await _ in group {
                guard !Task.isCancelled, let relay = candidates.next() else { continue }
                group.addTask { await listen(at: relay, server: server) }
            }
        }
    }

    /// Holds a session at `relay` until it drops; the relay is in the offer meanwhile.
    private func listen(at relay: Endpoint, server: JobChannelServer) async {
        do {
            try await RelayListener.hold(host: relay.addressText, port: Int(relay.port), identity: service.identity, server: server) {
                service.relays.withLock { $0.append(relay) }
                service.logger.info("lending through the relay \(relay): borrowers reach this node there")
            }
        } catch {
            service.logger.notice("relay \(relay): \(error)")
        }
        service.relays.withLock { $0.removeAll { $0 == relay } }
    }
}
