import JobChannel
import Kademlia
import Logging
import Synchronization

/// Keeps a node on a network that blocks UDP in the DHT (`spec/0021-reachability.md` §5.4):
/// once ``ReachabilityMonitor`` finds that no one answers over UDP, it opens a datagram tunnel
/// at a relay over TCP — first the `--bootstrap` hosts (a node's job channel listens on the DHT's
/// port number), then relays the DHT named through an earlier tunnel — and has the owner send
/// every datagram through it. When the tunnel ends it opens another.
struct TunnelKeeper {
    let service: DHTService
    let events: Mailbox<DHTService.Event>
    let handler: ControlHandler

    /// How long to wait before trying again when no relay opened a tunnel (or one ended).
    static let retry: Duration = .seconds(5)
    /// How long after a tunnel opens the node asks the DHT for other relays.
    static let relaySearchDelay: Duration = .seconds(5)

    func run() async throws {
        var named: [Endpoint] = []
        var failures = 0
        while true {
            if service.udpBlocked.withLock({ $0.blocked }) {
                let bootstrap = service.bootstrapping.withLock { $0.flatMap(\.endpoints) }
                let candidates = bootstrap + named.filter { !bootstrap.contains($0) }
                if let tunnel = await open(candidates, quiet: failures > 0) {
                    failures = 0
                    let found = await carry(tunnel, rejoin: bootstrap)
                    if !found.isEmpty { named = Array(Set(found)).sorted { $0.description < $1.description } }
                } else {
                    failures += 1
                }
            }
            try await Task.sleep(for: Self.retry)
        }
    }

    /// The first tunnel a candidate opens; logs each refusal the first time round.
    private func open(_ candidates: [Endpoint], quiet: Bool) async -> DatagramTunnel? {
        for candidate in candidates {
            do {
                return try await DatagramTunnel.open(host: candidate.addressText, port: Int(candidate.port), identity: service.identity,
                                                     ledger: try? service.relayReceiptBook())
            } catch {
                if !quiet { service.logger.notice("UDP is blocked and \(candidate) carries no datagrams: \(error)") }
            }
        }
        if !quiet { service.logger.warning("UDP is blocked and no relay opened a tunnel: this node cannot reach the DHT; trying again every \(Self.retry)") }
        return nil
    }

    /// Sends the node's datagrams through `tunnel` until it ends; meanwhile asks the DHT for
    /// other relays (announced under ``RelayKeeper/topic``), to try when this one goes, and
    /// returns those it found.
    private func carry(_ tunnel: DatagramTunnel, rejoin: [Endpoint]) async -> [Endpoint] {
        let seen = tunnel.relayed.map { " (others see it at \($0))" } ?? ""
        service.logger.info("UDP is blocked: the DHT's datagrams go through the relay \(tunnel.relay)\(seen)")
        events.post(.tunnel(tunnel))
        service.udpBlocked.withLock { $0.tunnel = tunnel.relay }
        if !rejoin.isEmpty { events.post(.join(rejoin)) }
        return await withTaskGroup(of: [Endpoint]?.self) { group in
            group.addTask { [events] in
                do {
                    try await tunnel.run { bytes, source in
                        if let source = Endpoint(source) { events.post(.datagram(bytes, from: source)) }
                    }
                } catch {
                    service.logger.notice("\(error)")
                }
                service.udpBlocked.withLock { $0.tunnel = nil }
                events.post(.tunnel(nil))
                return nil
            }
            group.addTask { [handler] in
                try? await Task.sleep(for: Self.relaySearchDelay)
                guard case .peers(let relays, _) = await handler.run(.getPeers(RelayKeeper.topic)) else { return [] }
                return relays
            }
            var found: [Endpoint] = []
            for await result in group {
                guard let relays = result else {
                    group.cancelAll()
                    break
                }
                found = relays
            }
            return found
        }
    }
}

extension Endpoint {
    /// The endpoint a relay's 18 bytes name (an IPv4-mapped address becomes IPv4).
    init?(_ wire: WireEndpoint) {
        let mapped = wire.address.prefix(12).elementsEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF])
        self.init(compact: (mapped ? Array(wire.address.suffix(4)) : wire.address) + [UInt8(wire.port >> 8), UInt8(wire.port & 0xFF)])
    }
}
