import Crypto
import JobChannel
import Kademlia
import Logging
import Reachability
import Synchronization

/// Relays for lenders others cannot reach (`spec/0021-reachability.md` §5), both sides:
/// - a reachable node that volunteers (`--relay`) announces its job port under ``topic``;
/// - a lender behind a NAT looks the topic up and listens at one relay, whose endpoint then
///   goes into its offer (``DHTService/advertisedJobsEndpoint()``); when the session drops it
///   finds another.
struct RelayKeeper {
    let service: DHTService
    let handler: ControlHandler

    /// The topic relays announce themselves under (an info-hash).
    static let topic = NodeID(bytes: SHA1.hash(Array("potluck relays v1".utf8)))!
    /// How often a relay announces itself again (BEP 5 peers expire after 30 minutes).
    static let announceInterval: Duration = .seconds(600)
    /// How long to wait before looking again when no relay would take this node.
    static let retry: Duration = .seconds(5)

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
                try await listenAtARelay(server: server)
            }
            try await Task.sleep(for: Self.retry)
        }
    }

    /// Finds relays and holds a session at the first that takes this node, until it drops.
    private func listenAtARelay(server: JobChannelServer) async throws {
        guard case .peers(let relays, _) = await handler.run(.getPeers(Self.topic)), !relays.isEmpty else { return }
        for relay in Set(relays).sorted(by: { $0.description < $1.description }) {
            try Task.checkCancellation()
            let listened = Mutex(false)
            do {
                try await RelayListener.hold(host: relay.addressText, port: Int(relay.port), identity: service.identity, server: server) {
                    listened.withLock { $0 = true }
                    service.relay.withLock { $0 = relay }
                    service.logger.info("lending through the relay \(relay): borrowers reach this node there")
                }
            } catch {
                service.logger.notice("relay \(relay): \(error)")
            }
            service.relay.withLock { $0 = nil }
            if listened.withLock({ $0 }) { return }  // it worked for a while: look again from the start
        }
    }
}
