import Kademlia
import Logging
import Reachability
import Synchronization

/// Keeps ``DHTService/reachability`` current (`spec/0021-reachability.md` §4): reads what other
/// nodes report seeing this node at, asks the router for port mappings and renews them at half
/// their lease, turns BEP 43 read-only on while the node sits unreachable behind a NAT, and
/// removes its mappings when the node stops.
struct ReachabilityMonitor {
    let service: DHTService
    let events: Mailbox<DHTService.Event>
    let bound: [Endpoint]

    /// How often the reports are read: often at first, while the node learns its place.
    static let earlyInterval: Duration = .seconds(1)
    static let steadyInterval: Duration = .seconds(10)
    static let earlyPeriod: Duration = .seconds(60)
    /// How often a node that knows nothing of its address asks its neighbours.
    static let selfLookupInterval: Duration = .seconds(15)
    /// How long a failed port mapping waits before it is tried again.
    static let mappingRetry: Duration = .seconds(300)

    func run() async throws {
        guard let dht = bound.first else { return }
        let clock = service.clock
        let started = clock.now
        let mapper = mapperIfUseful(for: dht)
        var mapped: PortMapping?
        var problem: String?
        var nextMapping = started
        var last: Reachability?
        var nextSelfLookup = started + Self.earlyInterval * 3
        do {
            while true {
                let now = clock.now
                let jobsPort = service.jobs.withLock { $0?.port }
                if let mapper, now >= nextMapping {
                    do {
                        let fresh = try await mapper.map(udpPort: dht.port, tcpPort: jobsPort)
                        if fresh != mapped {
                            events.post(.publicAddress(fresh.publicAddress))
                            service.logger.info("the router mapped \(fresh.protocolName) ports: UDP \(fresh.udpPort.map(String.init) ?? "-"), TCP \(fresh.tcpPort.map(String.init) ?? "-") at \(Endpoint(address: fresh.publicAddress, port: 0).addressText), for \(fresh.lifetime) s")
                        }
                        mapped = fresh
                        problem = nil
                        nextMapping = now + .seconds(max(30, Int64(fresh.lifetime) / 2))
                    } catch {
                        if mapped != nil || problem == nil { service.logger.notice("port mapping failed: \(error)") }
                        mapped = nil
                        problem = error.description
                        nextMapping = now + Self.mappingRetry
                    }
                }
                let (seen, presence, tableSize) = await withCheckedContinuation { (continuation: CheckedContinuation<DHTService.Observation, Never>) in
                    // A mailbox that is finished (the node is stopping) takes nothing: answer here,
                    // or this task would wait forever and the node would never exit.
                    if !events.post(.observed(continuation)) { continuation.resume(returning: (seen: [:], presence: (false, false), tableSize: 0)) }
                }
                try Task.checkCancellation()
                let local = NetworkInterfaces.localAddresses()
                var reach = Reachability.decide(
                    reports: seen, localAddresses: local, bound: Self.shown(dht, local: local), jobsPort: jobsPort, mapped: mapped,
                    mappingProblem: problem, tableSize: tableSize, elapsed: now - started, joinsThroughPeers: !service.options.bootstrap.isEmpty)
                reach.relays = service.relays.withLock { $0 }.map(\.description)
                // A network that blocks UDP stays so: from then on the node is reached (and
                // reaches the DHT) only through relays, whatever the tunnel's reports say (§5.4).
                let udp = service.udpBlocked.withLock { udp in
                    if case .unanswered = reach.state { udp.blocked = true }
                    return udp
                }
                if udp.blocked { reach.state = udp.tunnel.map { .tunnelled(relay: $0) } ?? .unanswered }
                // Nobody reported this node's address yet, though it has neighbours (the first
                // node of a network only answers): ask them, now and then.
                if case .unknown = reach.state, tableSize > 0, now >= nextSelfLookup {
                    events.post(.lookupSelf)
                    nextSelfLookup = now + Self.selfLookupInterval
                }
                if reach != last {
                    service.logger.info("reachability: \(reach.summary)")
                    // Seen at an address of its own interface: the node takes that address's
                    // BEP 42 id at once. Three responders' votes may never come in a young
                    // network (two public nodes have one voter each), and a node that took its id
                    // from its router would keep neither of them (spec 0004 §6).
                    if case .reachable(let dht, _, .direct) = reach.state, local.contains(dht.address) {
                        events.post(.publicAddress(dht.address))
                    }
                    last = reach
                }
                service.reachability.withLock { $0 = reach }
                if presence != (reach.joinsReadOnly, reach.staysOutOfTables) {
                    events.post(.setPresence(readOnly: reach.joinsReadOnly, staysOutOfTables: reach.staysOutOfTables))
                }
                try await Task.sleep(for: now - started < Self.earlyPeriod ? Self.earlyInterval : Self.steadyInterval)
            }
        } catch {
            if let mapper, let mapped {
                await mapper.unmap(mapped)
                service.logger.info("removed the router's port mappings")
            }
            if !(error is CancellationError) { throw error }
        }
    }

    /// A port mapper when one can help: the node listens beyond loopback and the machine has
    /// a default gateway.
    private func mapperIfUseful(for dht: Endpoint) -> RouterMapping? {
        guard service.options.mapsPorts, case .v4(let ip) = dht.address, ip >> 24 != 127,
              let gateway = NetworkInterfaces.defaultGateway() else { return nil }
        return RouterMapping(gateway: gateway)
    }

    /// The bound endpoint with an unspecified address (0.0.0.0) replaced by the machine's own.
    static func shown(_ dht: Endpoint, local: Set<Endpoint.Address> = NetworkInterfaces.localAddresses()) -> Endpoint {
        var shown = dht
        if dht.address == .v4(0), let primary = NetworkInterfaces.primaryIPv4(among: local) { shown.address = primary }
        return shown
    }
}

extension DHTService {
    /// The job channel's endpoint to publish in offers (`tcp://HOST:PORT`): the reachable one
    /// when known, else the bound one with an unspecified address replaced by the machine's own.
    func advertisedJobsEndpoint() -> String? {
        if case .reachable(_, let jobs?, _) = reachability.withLock({ $0?.state }) {
            return "tcp://\(jobs)"
        }
        let relays = relays.withLock { $0 }
        if !relays.isEmpty { return relays.map { "relay://\($0)" }.joined(separator: " ") }
        guard let (_, endpoint, port) = jobs.withLock({ $0 }) else { return nil }
        guard endpoint.hasPrefix("tcp://0.0.0.0:") else { return endpoint }
        return "tcp://\(ReachabilityMonitor.shown(Endpoint(address: .v4(0), port: port)))"
    }
}
