/// Learning this node's public address from the `ip` key of replies (BEP 42), so that the node
/// can take a BEP 42 id (its first 21 bits bound to that address) at its next start.
///
/// Each responder's address gets one vote (the latest it reported); an address wins once
/// ``quorum`` distinct responders report it and it is not a local (exempt) address.
struct ExternalAddressVote: Sendable {
    static let quorum = 3
    static let maxVoters = 64

    var votes: [Endpoint.Address: Endpoint.Address] = [:]  // voter → address it reported
    var agreed: Endpoint.Address?

    /// Records a vote; returns the address when it newly reaches the quorum.
    mutating func record(_ address: Endpoint.Address, from voter: Endpoint.Address) -> Endpoint.Address? {
        guard !NodeIDSecurity.isExempt(address) else { return nil }
        if votes[voter] == nil && votes.count >= Self.maxVoters { votes.removeAll() }
        votes[voter] = address
        let count = votes.values.filter { $0 == address }.count
        guard count >= Self.quorum, agreed != address else { return nil }
        agreed = address
        return address
    }
}

extension DHTNode {
    mutating func noteExternalAddress(_ address: Endpoint.Address, reportedBy voter: Endpoint.Address, into actions: inout [Action]) {
        if let agreed = externalAddress.record(address, from: voter) { actions.append(.externalAddress(agreed)) }
    }

    /// The public address other nodes agree on, if any.
    public var agreedExternalAddress: Endpoint.Address? { externalAddress.agreed }
}
