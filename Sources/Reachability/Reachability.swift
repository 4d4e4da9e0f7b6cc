import Kademlia

/// Whether other peers can reach this node unasked, and at which endpoints
/// (`spec/0021-reachability.md` §4): what `potluck status` says in plain words, what the offer
/// publishes, and whether the node answers DHT queries (BEP 43 read-only when unreachable).
public struct Reachability: Sendable, Equatable {
    /// How the node is reached.
    public enum Path: Sendable, Equatable {
        /// At an address of one of this machine's interfaces.
        case direct
        /// Through a port mapping the router granted (NAT-PMP or UPnP IGD).
        case mapped(by: String)
    }

    public enum State: Sendable, Equatable {
        /// Not enough reports yet.
        case unknown
        /// No other node has answered over UDP for a while, though the node was given some to
        /// join through: a network that blocks UDP.
        case unanswered
        /// UDP is blocked, and the node's DHT datagrams travel through a relay's tunnel
        /// (`HOST:PORT`, §5.4): it asks the DHT but does not answer (BEP 43).
        case tunnelled(relay: String)
        /// Reachable: the DHT's UDP endpoint and the job channel's TCP endpoint.
        case reachable(dht: Endpoint, jobs: Endpoint?, path: Path)
        /// Behind a NAT that lets in only replies, with the public address others see.
        case behindNAT(NATMapping, publicAddress: Endpoint.Address?)
    }

    public var state: State
    /// Whether the node's own address is a private one (not loopback), so that a NAT may stand
    /// between it and the Internet.
    public var mayBeBehindNAT: Bool
    /// The relays this node lends through while others cannot reach it (`HOST:PORT`), in the
    /// order its offer lists them.
    public var relays: [String] = []
    /// Why port mapping was not used, if it was tried and failed (shown beside the state).
    public var mappingProblem: String?

    public init(state: State, mayBeBehindNAT: Bool = false, mappingProblem: String? = nil) {
        self.state = state
        self.mayBeBehindNAT = mayBeBehindNAT
        self.mappingProblem = mappingProblem
    }

    /// Whether `address` is private (BEP 42's local ranges) but not loopback.
    public static func mayBeBehindNAT(_ address: Endpoint.Address) -> Bool {
        switch address {
        case .v4(let ip): return NodeIDSecurity.isExempt(address) && ip >> 24 != 127
        case .v6(let high, let low): return NodeIDSecurity.isExempt(address) && !(high == 0 && low == 1)
        }
    }

    /// Decides from what the node knows:
    /// - `mapping`: the NAT's behaviour from the DHT's reports (``NATMapping/classify``);
    /// - `seenAddress`: the public address most responders report;
    /// - `bound`: the DHT's UDP endpoint and the job channel's TCP port;
    /// - `mapped`: the router's public address and the ports it granted, if any.
    ///
    /// A router's mapping wins: it makes the node reachable whatever the NAT's mapping
    /// behaviour. Without one, no NAT (a public or local address) is reachable directly, and any
    /// NAT is not (its filtering lets in only replies: RFC 4787 §5 on the common kinds).
    /// Decides from the raw reports (responder → endpoint seen) of the node's whole life so far:
    /// those of `bound`'s family are classified (§2), and a node that was given peers to join
    /// yet has no report and no neighbour after ``silenceLimit`` is on a network that blocks UDP.
    public static func decide(
        reports: [Endpoint.Address: Endpoint], localAddresses: Set<Endpoint.Address>, bound: Endpoint, jobsPort: UInt16?,
        mapped: PortMapping?, mappingProblem: String?, tableSize: Int, elapsed: Duration, joinsThroughPeers: Bool
    ) -> Reachability {
        let sameFamily = reports.filter { $0.value.compactLength == bound.compactLength }
        let translated = sameFamily.filter { !localAddresses.contains($0.value.address) }
        var reach = decide(mapping: NATMapping.classify(sameFamily, localPort: bound.port, localAddresses: localAddresses),
                           seenAddress: NATMapping.mostReported(translated.isEmpty ? sameFamily : translated),
                           bound: bound, jobsPort: jobsPort, mapped: mapped, mappingProblem: mappingProblem)
        if reports.isEmpty, tableSize == 0, elapsed >= silenceLimit, joinsThroughPeers { reach.state = .unanswered }
        return reach
    }

    /// How long a node that was given peers to join may hear nothing before it says UDP is blocked.
    public static let silenceLimit: Duration = .seconds(10)

    public static func decide(
        mapping: NATMapping, seenAddress: Endpoint.Address?, bound: Endpoint, jobsPort: UInt16?,
        mapped: PortMapping?, mappingProblem: String? = nil
    ) -> Reachability {
        if let mapped, let udp = mapped.udpPort {
            let jobs = mapped.tcpPort.map { Endpoint(address: mapped.publicAddress, port: $0) }
            return Reachability(state: .reachable(dht: Endpoint(address: mapped.publicAddress, port: udp), jobs: jobs,
                                                  path: .mapped(by: mapped.protocolName)))
        }
        switch mapping {
        case .unknown:
            return Reachability(state: .unknown, mayBeBehindNAT: mayBeBehindNAT(bound.address), mappingProblem: mappingProblem)
        case .none:
            let address = seenAddress ?? bound.address
            return Reachability(state: .reachable(dht: Endpoint(address: address, port: bound.port),
                                                  jobs: jobsPort.map { Endpoint(address: address, port: $0) }, path: .direct),
                                mappingProblem: nil)
        case .translated, .keepsPorts, .remapsPorts, .symmetric:
            return Reachability(state: .behindNAT(mapping, publicAddress: seenAddress), mappingProblem: mappingProblem)
        }
    }

    /// Whether others can reach this node unasked.
    public var isReachable: Bool {
        if case .reachable = state { return true }
        return false
    }

    /// Whether the node should stay out of others' routing tables (BEP 43): only once it knows it
    /// is behind a NAT that others cannot cross. A node that does not know yet answers, as before.
    public var joinsReadOnly: Bool {
        switch state {
        case .behindNAT, .tunnelled: true
        default: false
        }
    }

    /// Whether the node asks others not to keep it while still answering (BEP 43's `ro=1`
    /// without its silence): while it does not know yet and its address is private.
    public var staysOutOfTables: Bool {
        if case .unknown = state { return mayBeBehindNAT }
        return false
    }

    /// One line in plain words for `potluck status`.
    public var summary: String {
        var text: String
        switch state {
        case .unknown:
            text = "reachability not known yet: waiting for other nodes to report this node's address"
        case .unanswered:
            text = "no other node answers over UDP: the network may block UDP, so this node cannot join the DHT; it looks for a relay to carry its datagrams"
        case .tunnelled(let relay):
            text = "no other node answers over UDP: the network blocks UDP, so this node reaches the DHT through the relay \(relay); it asks the DHT but does not answer (BEP 43)"
        case .reachable(let dht, let jobs, let path):
            text = "reachable at \(dht)"
            if let jobs, jobs.port != dht.port { text += " (jobs on TCP port \(jobs.port))" }
            if case .mapped(let by) = path { text += ", a port the router mapped through \(by)" }
        case .behindNAT(let mapping, let address):
            let seen = address.map { " (others see \(Endpoint(address: $0, port: 0).addressText))" } ?? ""
            switch mapping {
            case .keepsPorts: text = "behind a NAT that keeps ports\(seen): others cannot reach this node unasked"
            case .remapsPorts: text = "behind a NAT that changes ports\(seen): others cannot reach this node unasked"
            case .translated: text = "behind a NAT\(seen): others cannot reach this node unasked"
            default: text = "behind a symmetric NAT\(seen), a new port for each peer: others cannot reach this node unasked"
            }
            text += "; it asks the DHT but does not answer (BEP 43)"
        }
        if relays.count == 1 { text += "; borrowers reach it through the relay \(relays[0])" }
        if relays.count > 1 { text += "; borrowers reach it through the relays \(relays.dropLast().joined(separator: ", ")) and \(relays.last!)" }
        if let mappingProblem { text += "; port mapping: \(mappingProblem)" }
        return text
    }
}

/// Ports a router mapped for this node (NAT-PMP or UPnP IGD).
public struct PortMapping: Sendable, Equatable {
    public var protocolName: String
    public var publicAddress: Endpoint.Address
    public var udpPort: UInt16?
    public var tcpPort: UInt16?
    /// Seconds the router granted; renewed at half.
    public var lifetime: UInt32

    public init(protocolName: String, publicAddress: Endpoint.Address, udpPort: UInt16?, tcpPort: UInt16?, lifetime: UInt32) {
        self.protocolName = protocolName
        self.publicAddress = publicAddress
        self.udpPort = udpPort
        self.tcpPort = tcpPort
        self.lifetime = lifetime
    }
}
