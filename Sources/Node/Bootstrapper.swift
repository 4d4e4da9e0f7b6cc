import Kademlia
import Logging
import Synchronization

/// One `--bootstrap` host as the node last saw it, for `potluck dht status` (spec 0008 §1.2, §3).
public struct BootstrapHost: Sendable, Equatable {
    /// As given: a name or an address, with its port.
    public let text: String
    /// What it resolved to at the last attempt.
    public var endpoints: [Endpoint] = []
    /// Attempts so far (resolve, then join through every endpoint).
    public var attempts = 0
    /// Why the last attempt did not join, in words; `nil` once joined.
    public var problem: String? = "not tried yet"
}

/// Joins the overlay through the `--bootstrap` hosts, and again whenever the routing table
/// empties: resolves names at each attempt (a home server's address may change), asks every
/// endpoint (BEP 5 `find_node` of the node's own id), and waits 1 s, 2 s, 4 s … at most 5 min
/// between attempts while no one answers. Every attempt and its outcome is logged and kept in
/// ``DHTService/bootstrapping`` for `potluck status`.
struct Bootstrapper {
    let service: DHTService
    let events: Mailbox<DHTService.Event>
    var firstDelay: Duration = .seconds(1)
    var longestDelay: Duration = .seconds(300)
    /// How often a joined node checks that its table still holds someone.
    var watchInterval: Duration = .seconds(30)

    func run() async throws {
        let hosts = service.options.bootstrap
        guard !hosts.isEmpty else { return }
        service.bootstrapping.withLock { $0 = hosts.map { BootstrapHost(text: $0) } }
        let families = Set(service.options.listen.map(\.address.family))
        var delay = firstDelay
        while !Task.isCancelled {
            var endpoints: [Endpoint] = []
            for (index, host) in hosts.enumerated() {
                let resolved = await HostResolver.resolve(host).flatMap { Self.reachable($0, host: host, families: families) }
                service.bootstrapping.withLock { state in
                    state[index].attempts += 1
                    switch resolved {
                    case .success(let found): state[index].endpoints = found; state[index].problem = "no answer yet"
                    case .failure(let error): state[index].endpoints = []; state[index].problem = error.description
                    }
                }
                switch resolved {
                case .success(let found):
                    endpoints += found
                    if Endpoint(host) == nil { service.logger.info("bootstrap: \(host) is \(found.map(\.description).joined(separator: ", "))") }
                case .failure(let error):
                    service.logger.warning("bootstrap: \(error)")
                }
            }
            if !endpoints.isEmpty { events.post(.join(endpoints)) }
            // Joined as soon as someone answers; the next attempt after `delay` otherwise.
            let next = ContinuousClock.now + delay
            var size = await tableSize()
            while size == 0, ContinuousClock.now < next {
                try await Task.sleep(for: .milliseconds(100))
                size = await tableSize()
            }
            if size > 0 {
                // Joined through the hosts that resolved; one that did not keeps saying why.
                service.bootstrapping.withLock { state in for index in state.indices where !state[index].endpoints.isEmpty { state[index].problem = nil } }
                service.logger.info("joined the network through \(hosts.joined(separator: ", ")): \(size) contacts")
                delay = firstDelay
                try await settle()
                while await tableSize() > 0 { try await Task.sleep(for: watchInterval) }
                service.logger.warning("the routing table is empty: joining through \(hosts.joined(separator: ", ")) again")
                continue
            }
            delay = min(delay * 2, longestDelay)
            let tried = endpoints.isEmpty ? hosts.joined(separator: ", ") : endpoints.map(\.description).joined(separator: ", ")
            service.logger.notice("bootstrap: no answer from \(tried) yet; trying again in \(delay.components.seconds) s")
        }
    }

    /// A node that joined early knows only its bootstrap: the nodes that join after it find it,
    /// but it enters only nodes that answered its own queries (issue 20). While its table is
    /// small, it looks itself up again 2, 4, 8, 16 and 32 s after joining, as Kademlia's join
    /// refreshes buckets, so it meets the network that grew behind it.
    private func settle() async throws {
        var wait = firstDelay * 2
        for _ in 0..<5 {
            try await Task.sleep(for: wait)
            guard await tableSize() < Self.wellConnected else { return }
            events.post(.lookupSelf)
            wait *= 2
        }
    }

    /// A table this size no longer needs the joining lookups (one bucket's worth, BEP 5's K).
    static let wellConnected = 8

    /// The addresses of `found` this node can send to: those of a family it listens on (a name
    /// like `localhost` resolves to `::1` too, which an IPv4-only node cannot reach).
    static func reachable(_ found: [Endpoint], host: String, families: Set<Endpoint.Address.Family>) -> Result<[Endpoint], NodeError> {
        let usable = found.filter { families.contains($0.address.family) }
        guard usable.isEmpty, let first = found.first else { return .success(usable) }
        let theirs = first.address.family == .v4 ? "IPv4" : "IPv6"
        return .failure(NodeError("\(host) resolves only to \(theirs) addresses, and this node listens on none (add a --listen address of that family)"))
    }

    private func tableSize() async -> Int {
        await withCheckedContinuation { continuation in
            if !events.post(.observed(continuation)) { continuation.resume(returning: (seen: [:], presence: (false, false), tableSize: 0)) }
        }.tableSize
    }
}
