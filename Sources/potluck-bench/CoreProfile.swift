import Kademlia

/// `potluck-bench profile-core`: the DHT state machine alone answering queries (no sockets):
/// how many `find_node` and `get` queries one core handles per second.
func profileCore() {
    var configuration = DHTNode.Configuration()
    configuration.raiseRateLimits()
    var random = SystemRandomNumberGenerator()
    var node = DHTNode(id: NodeID.random(using: &random), configuration: configuration, seed: 1, now: .seconds(1))
    // A table of ~100 contacts, learned from their queries.
    for index in 0..<200 {
        let query = KRPCMessage(transactionID: [0, 1], kind: .query(KRPCMessage.Query(id: NodeID.random(using: &random), method: .ping)))
        _ = node.receive(query.encoded(), from: Endpoint(address: .v4(0x7f00_0000 | UInt32(index + 2)), port: 7000), now: .seconds(2))
    }
    let queries = Loader.makeQueries()
    let source = Endpoint(address: .v4(0x7f00_0001), port: 9999)
    for (name, filter) in [("find_node", 0), ("get", 1)] {
        let start = nowNanoseconds()
        var count = 0
        for round in 0..<50 {
            for (index, query) in queries.enumerated() where index % 2 == filter {
                blackHole(node.receive(query, from: source, now: .seconds(3 + Double(round) / 100)))
                count += 1
            }
        }
        let seconds = Double(nowNanoseconds() - start) / 1e9
        print("\(name): \(Int(Double(count) / seconds)) queries/s in the state machine (table \(node.status.routingTableSize))")
    }
}
