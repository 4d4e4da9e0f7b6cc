import Kademlia

/// What a NAT in front of this node does to its outgoing UDP, read from the endpoints other
/// DHT nodes report seeing it at (BEP 42's `ip` key), as RFC 5780 reads it from two STUN
/// servers (`spec/0021-reachability.md` §2).
public enum NATMapping: String, Sendable, Hashable, Codable {
    /// Too few reports to say.
    case unknown
    /// Behind a NAT (a peer saw another address than the machine's own), whose kind one report
    /// cannot tell: in a network of one reachable peer, still enough to know others cannot
    /// reach the node unasked.
    case translated
    /// Others see one of this machine's own addresses and its own port: no NAT.
    case none
    /// One external port per socket, equal to the local port (RFC 4787 endpoint-independent
    /// mapping with port preservation): the common home router, and Linux's `masquerade`.
    case keepsPorts
    /// One external port per socket, but not the local one (endpoint-independent mapping).
    case remapsPorts
    /// A different external port for each destination (endpoint-dependent mapping, "symmetric"):
    /// a port learned from one peer is useless to another.
    case symmetric

    /// Classifies the reports `seen` (responder address → the endpoint it saw) of one address
    /// family for a socket bound to `localPort` on a machine whose addresses are `localAddresses`.
    ///
    /// Reports of one of the machine's own addresses come from peers on the same network (or
    /// the machine has a public address): alone, they mean no NAT. Reports of any other address
    /// went through a NAT, and decide: at least two responders must report the same external
    /// address; if their ports differ the mapping is endpoint-dependent, if they agree it is
    /// endpoint-independent. Reports of an address other than the most reported one are left
    /// out (stale, from before the router restarted, or a liar).
    public static func classify(
        _ seen: [Endpoint.Address: Endpoint], localPort: UInt16, localAddresses: Set<Endpoint.Address>
    ) -> NATMapping {
        let translated = seen.filter { !localAddresses.contains($0.value.address) }
        if translated.isEmpty { return seen.isEmpty ? .unknown : .none }
        guard let external = mostReported(translated) else { return .unknown }
        let ports = translated.values.filter { $0.address == external }.map(\.port)
        guard ports.count >= 2 else { return translated.count == 1 ? .translated : .unknown }
        if Set(ports).count > 1 { return .symmetric }
        return ports[0] == localPort ? .keepsPorts : .remapsPorts
    }

    /// The external address most responders report, if any (ties broken by the address's text,
    /// so the answer does not depend on dictionary order).
    public static func mostReported(_ seen: [Endpoint.Address: Endpoint]) -> Endpoint.Address? {
        var counts: [Endpoint.Address: Int] = [:]
        for endpoint in seen.values { counts[endpoint.address, default: 0] += 1 }
        let text = { (address: Endpoint.Address) in Endpoint(address: address, port: 0).addressText }
        return counts.sorted { ($0.value, text($1.key)) > ($1.value, text($0.key)) }.first?.key
    }
}
