// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Coordinates
import Kademlia
import SeededRandom
import Testing

/// A node keeps each member's Vivaldi coordinate and hands it out beside the member's contact
/// (`plnc`, `spec/0013` §4.2), so a lookup can expect round trips from peers it never contacted.
@Suite("DHT node coordinates")
struct DHTNodeCoordinateTests {
    @Test func repliesCarryTheCoordinatesMembersSent() throws {
        var configuration = DHTNode.Configuration()
        configuration.encodesMessages = false
        var node = DHTNode(id: NodeID(bytes: Array(repeating: 0x11, count: 20))!, configuration: configuration, seed: 1, now: .seconds(1))
        var random = SplitMix64(seed: 9)
        let target = NodeID.random(using: &random)
        // Sender n sits at (10 n, −n) with height 5 ms; the odd ones are not settled yet.
        func report(_ port: UInt16) -> VivaldiReport {
            VivaldiReport(coordinate: VivaldiCoordinate(vector: [10 * Double(port), -Double(port)], height: 5),
                          error: port % 2 == 0 ? 0.2 : 0.9)
        }
        func findNode(from sender: NodeID, port: UInt16) throws -> KRPCMessage.Response? {
            var query = KRPCMessage(transactionID: [0, UInt8(port)],
                                    kind: .query(KRPCMessage.Query(id: sender, method: .findNode(target: target))))
            query.coordinate = report(port)
            let source = Endpoint(address: .v4(0x0A00_0000 | UInt32(port)), port: port)
            let actions = node.receive(message: query, from: source, now: .seconds(2))
            for case .dialBack(let bytes, _) in actions {
                var pong = KRPCMessage(transactionID: try KRPCMessage.decode(bytes).transactionID,
                                       kind: .response(KRPCMessage.Response(id: sender)))
                pong.coordinate = report(port)
                _ = node.receive(message: pong, from: source, now: .seconds(2))
            }
            return actions.lazy.compactMap { action -> KRPCMessage.Response? in
                if case .sendMessage(let reply, _) = action, case .response(let response) = reply.kind { return response }
                return nil
            }.first
        }
        var ports: [NodeID: UInt16] = [:]
        for port in 1...10 as ClosedRange<UInt16> {
            let sender = NodeID.random(using: &random)
            ports[sender] = port
            _ = try findNode(from: sender, port: port)
        }
        let reply = try #require(try findNode(from: NodeID.random(using: &random), port: 11))
        let nodes = try #require(reply.nodes)
        let coordinates = try #require(reply.nodeCoordinates)
        #expect(nodes.count == 8 && coordinates.count == nodes.count)
        for (contact, coordinate) in zip(nodes, coordinates) {
            let port = try #require(ports[contact.id])
            #expect(coordinate == (port % 2 == 0 ? PackedCoordinate(report(port)) : .unknown), "sender \(port)")
        }
    }

    @Test func anEntryStaysOneCacheLine() {
        #expect(MemoryLayout<RoutingTable.Entry>.size == 64)
    }
}
