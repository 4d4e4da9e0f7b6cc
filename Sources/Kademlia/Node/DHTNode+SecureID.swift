/// A node's own id under BEP 42 ("Bootstrapping"): taken as soon as its public address is
/// known, from the votes (``noteExternalAddress(_:reportedBy:now:into:)``) or from the driver
/// (`spec/0004-dht-routing.md` §6).
extension DHTNode {
    /// Takes the BEP 42 id of `address`, a public address the driver learned otherwise (from
    /// the router that maps its port), unless its id already fits.
    public mutating func adoptSecureID(for address: Endpoint.Address, now: Timestamp) -> [Action] {
        var actions: [Action] = []
        if NodeIDSecurity.isPublic(address), !NodeIDSecurity.isValid(id, for: address) {
            adopt(NodeIDSecurity.makeID(for: address, using: &random), now: now, into: &actions)
        }
        return actions
    }

    /// Turns ``Configuration/adoptsSecureID`` on or off (off while others see a relay's address).
    public mutating func setAdoptsSecureID(_ adopts: Bool) {
        configuration.adoptsSecureID = adopts
    }

    /// Takes `newID` as this node's id from now on (BEP 42, "Bootstrapping": a node that learns
    /// its public address takes the id bound to it, so that nodes enforcing BEP 42 keep it).
    /// The routing table keeps every contact, now by distance from the new id; a lookup of the
    /// new id tells its new neighbourhood; ``Action/nodeIDChanged(_:)`` asks the driver to
    /// keep the id for the next start. Lookups under way go on.
    public mutating func adopt(_ newID: NodeID, now: Timestamp, into actions: inout [Action]) {
        guard newID != id else { return }
        id = newID
        table = table.rekeyed(to: newID, now: now)
        replyMemo = ReplyMemo()
        actions.append(.nodeIDChanged(newID))
        startOperation(.findNode, target: newID, request: nil, now: now, into: &actions)
    }
}
