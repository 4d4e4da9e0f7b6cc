import Bencode
import PotluckCrypto
/// Learning this node's public address from the `ip` key of replies (BEP 42), so that the node
/// can take a BEP 42 id (its first 21 bits bound to that address) at once, and so that the node
/// can tell what its NAT does (`spec/0021-reachability.md` §2).
///
/// Each responder's address gets one vote (the endpoint it reported last); an address wins once
/// ``quorum`` distinct responders report it and it is not a local (exempt) address. The reported
/// ports are kept too: whether they agree across responders is the NAT's mapping behaviour
/// (RFC 4787 §4.1), read by ``observedEndpoints``.
struct ExternalAddressVote: Sendable {
    static let quorum = 3
    static let maxVoters = 16

    /// Each voter and the endpoint it reported, oldest first, at most ``maxVoters``: a flat
    /// array, scanned. Sixteen are many times the quorum and enough to see whether a NAT keeps
    /// its ports; 64 cost every node 3 KB (a million simulated nodes, 3 GB).
    var votes: [(voter: Endpoint.Address, seen: Endpoint)] = []
    var agreed: Endpoint.Address?

    /// Records a vote; returns the address when it newly reaches the quorum.
    mutating func record(_ seen: Endpoint, from voter: Endpoint.Address) -> Endpoint.Address? {
        if let index = votes.firstIndex(where: { $0.voter == voter }) {
            votes[index].seen = seen
        } else {
            if votes.count >= Self.maxVoters { votes.removeFirst() }
            votes.append((voter, seen))
        }
        let address = seen.address
        guard !NodeIDSecurity.isExempt(address) else { return nil }
        var count = 0
        for vote in votes where vote.seen.address == address { count += 1 }
        guard count >= Self.quorum, agreed != address else { return nil }
        agreed = address
        return address
    }
}

extension DHTNode {
    mutating func noteExternalAddress(_ seen: Endpoint, reportedBy voter: Endpoint.Address, now: Timestamp, into actions: inout [Action]) {
        guard let agreed = externalAddress.record(seen, from: voter) else { return }
        actions.append(.externalAddress(agreed))
        if configuration.adoptsSecureID, !NodeIDSecurity.isValid(id, for: agreed) {
            adopt(NodeIDSecurity.makeID(for: agreed, using: &random), now: now, into: &actions)
        }
    }

    /// The public address other nodes agree on, if any.
    public var agreedExternalAddress: Endpoint.Address? { externalAddress.agreed }

    /// The endpoint each responder last reported seeing this node at (BEP 42's `ip`), by the
    /// responder's address: at most 16 responders, the most recent.
    public var observedEndpoints: [Endpoint.Address: Endpoint] {
        Dictionary(externalAddress.votes.map { ($0.voter, $0.seen) }, uniquingKeysWith: { $1 })
    }
}

extension DHTNode {
    /// Sets BEP 43's modes at run time (`spec/0021-reachability.md` §4): a node that learns it
    /// is behind a NAT stops answering (`readOnly`); one that does not know yet asks others not
    /// to keep it but answers (`staysOutOfTables`).
    public mutating func setPresence(readOnly: Bool, staysOutOfTables: Bool) {
        configuration.readOnly = readOnly
        configuration.staysOutOfTables = staysOutOfTables
    }
}

extension DHTNode {
    /// The response field that carries the keys of announced peers (`spec/0021-reachability.md` §5).
    public static let announcerKeysField = Array("plks".utf8)
    /// The most announcers whose keys are kept (all are forgotten when it is reached).
    static let maxAnnouncerKeys = 4096

    /// Remembers the Potluck key a peer announced with, so that `get_peers` can report it: a
    /// borrower then needs no ping to learn a lender's key, which a lender behind a NAT would
    /// never answer. The key is as claimed; the offer it leads to is signed by it.
    mutating func noteAnnouncer(_ key: PublicKey, at endpoint: Endpoint) {
        if announcerKeys[endpoint] == nil && announcerKeys.count >= Self.maxAnnouncerKeys { announcerKeys.removeAll() }
        announcerKeys[endpoint] = key
    }
}

extension KRPCMessage {
    /// The sender's Potluck identity (`plk`), if it sent one.
    var senderKey: PublicKey? {
        extensions.isEmpty ? nil : extensions[DHTNode.identityKey].flatMap { $0.bytes }.flatMap { try? PublicKey(bytes: $0) }
    }
}
