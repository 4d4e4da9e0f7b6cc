// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Glibc
import NIOCore

/// Port guessing, for a punch between a router that keeps ports and one that does not
/// (`spec/0021-reachability.md` §6.2).
///
/// A router with endpoint-dependent mapping (a "symmetric" NAT) gives each new destination a
/// fresh public port, so the other side cannot know where to send the SYN that opens its own
/// router. The birthday paradox closes the gap, as Tailscale's NAT traversal does for UDP: the
/// side behind that router opens ``guessingSockets`` connections to the target from as many local
/// ports, so its router holds as many random public ports toward the target; the side behind the
/// router that keeps ports sends ``guessingProbes`` SYNs from its punching port to random ports of
/// the other router. Any port in both sets lets one side's SYN in as an answer to the other's, and TCP's
/// simultaneous open joins them. With ports drawn from 1024–65535, 768 of each succeed with
/// probability 1 − e^(−768·768/64512) ≈ 99.99% (448 of each, 95.5%, left one NAT lab run in
/// six with a pair on the relay).
extension HolePunch {
    /// What this side does beyond the plain punch.
    enum Guessing: Equatable {
        /// Nothing: both routers keep ports, one side is public, or both change ports.
        case none
        /// This side's router changes ports: open many connections to the target.
        case openMany
        /// The other side's router changes ports: probe random ports of its address.
        case probe
    }

    /// Connections opened, and probes sent, by the two sides of a guessing punch.
    static let guessingSockets = 768
    static let guessingProbes = 768

    /// Whether to guess, from the relay's rendezvous and this side's own punching endpoint. A
    /// side is behind a NAT when the relay saw another address than its local one, and its
    /// router keeps ports when the relay saw the local port. Nothing to guess on one LAN, or
    /// when the other side's local endpoint is unknown.
    static func guessing(local: WireEndpoint?, rendezvous: RelayWire.Rendezvous) -> Guessing {
        guard let local, let mine = rendezvous.mine, let theirs = rendezvous.theirs, let theirsLocal = rendezvous.theirsLocal,
              mine.address != theirs.address else { return .none }
        let meBehind = mine.address != local.address, theyBehind = theirs.address != theirsLocal.address
        guard meBehind, theyBehind else { return .none }
        let meKeep = mine.port == local.port, theyKeep = theirs.port == theirsLocal.port
        switch (meKeep, theyKeep) {
        case (false, true): return .openMany
        case (true, false): return .probe
        default: return .none
        }
    }

    /// `count` distinct ports in 1024–65535 other than `excluded`, at random.
    static func randomPorts(_ count: Int, excluding excluded: Int) -> [Int] {
        var chosen = Set<Int>()
        while chosen.count < min(count, 64_511) {
            let port = Int.random(in: 1024...65535)
            if port != excluded { chosen.insert(port) }
        }
        return Array(chosen)
    }

    /// Starts the connections of a guessing side, in place of the plain punch; the one to keep
    /// is offered to `first` (``SocketSpray``).
    static func guess(_ guessing: Guessing, from local: SocketAddress, to target: SocketAddress, deadline: ContinuousClock.Instant,
                      first: FirstConnection) {
        guard let from = WireEndpoint(local), let to = WireEndpoint(target) else { return }
        let attempts: [(from: WireEndpoint, to: WireEndpoint)]
        switch guessing {
        case .none:
            return
        case .openMany:
            var fresh = from
            fresh.port = 0
            attempts = Array(repeating: (fresh, to), count: guessingSockets)
        case .probe:
            attempts = randomPorts(guessingProbes, excluding: to.port).map { port in
                var probe = to
                probe.port = port
                return (from, probe)
            }
        }
        raiseDescriptorLimit(by: attempts.count)
        SocketSpray.start(attempts, opener: guessing == .openMany, deadline: deadline, first: first)
    }

    /// Raises this process's soft limit on open descriptors so that `extra` more fit beside a
    /// margin (a desktop's default of 1024 would not hold a guessing punch); never above the
    /// hard limit.
    static func raiseDescriptorLimit(by extra: Int) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let wanted = rlim_t(4096 + extra)
        guard limit.rlim_cur < wanted else { return }
        limit.rlim_cur = min(wanted, limit.rlim_max)
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}

