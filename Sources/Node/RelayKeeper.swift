import PotluckCrypto
import JobChannel
import Kademlia
import Logging
import Reachability
import Synchronization

/// Relays for lenders others cannot reach (`spec/0021-reachability.md` §5), both sides:
/// - a reachable node that volunteers (`--relay`) announces its job port under ``topic``;
/// - a lender behind a NAT looks the topic up and listens at up to ``relaysPerLender`` relays
///   at once, whose endpoints then go into its offer (``DHTService/advertisedJobsEndpoint()``),
///   so that a relay going away does not cut it off; when a session drops it looks again.
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

    /// Holds sessions at up to ``relaysPerLender`` relays; when one ends, looks the relays up
    /// again (after ``retry``) to get back to that many, so a relay that restarts is used again.
    /// Returns when none is held and none was found.
    private func listenAtRelays(server: JobChannelServer) async {
        await withTaskGroup(of: Endpoint.self) { group in
            var held: Set<Endpoint> = []
            while !Task.isCancelled {
                if held.count < Self.relaysPerLender, case .peers(let found, _) = await handler.run(.getPeers(Self.topic)) {
                    for relay in Set(found).sorted(by: { $0.description < $1.description })
                    where held.count < Self.relaysPerLender && !held.contains(relay) {
                        held.insert(relay)
                        group.addTask { await listen(at: relay, server: server); return relay }
                    }
                }
                guard !held.isEmpty, let ended = await group.next() else { return }
                held.remove(ended)
                try? await Task.sleep(for: Self.retry)
            }
        }
    }

    /// Holds a session at `relay` until it drops; the relay is in the offer meanwhile.
    private func listen(at relay: Endpoint, server: JobChannelServer) async {
        do {
            try await RelayListener.hold(host: relay.addressText, port: Int(relay.port), identity: service.identity, server: server,
                                         ledger: try? service.relayReceiptBook()) {
                service.relays.withLock { $0.append(relay) }
                service.logger.info("lending through the relay \(relay): borrowers reach this node there")
            }
        } catch {
            service.logger.notice("relay \(relay): \(error)")
        }
        service.relays.withLock { $0.removeAll { $0 == relay } }
    }
}
