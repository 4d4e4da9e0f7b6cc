import Foundation
import Kademlia
import Node
#if canImport(Glibc)
import Glibc
#endif

/// `potluck-bench dht-serve`: one loader sends the same `find_node` and `get` queries to a
/// Potluck node and to a libtorrent 2.0.8 node (rate limits raised), each a separate process
/// pinned to the same single core, and counts the queries answered per second. The goal is
/// Potluck ≥ 1.5× libtorrent.
func dhtServeBench() async throws -> [BenchResult] {
    let fixture = try BenchFixture(nodes: 8)
    defer { fixture.stop() }
    let potluckPort = UInt16(fixture.ports[0] + 50)
    let node = try ChildProcess.start(
        pinnedToCore: 1, executable: CommandLine.arguments[0],
        arguments: ["serve-node", String(potluckPort)] + fixture.ports.map { "127.0.0.1:\($0)" })
    defer { node.stop() }
    _ = try node.waitForLine(prefix: "listening on ", timeout: 30)
    try pinToCore(pid: fixture.pid, core: 1)
    try await Task.sleep(for: .seconds(2))  // let the Potluck node fill its table from libtorrent's

    let potluck = Endpoint(address: .v4(0x7f00_0001), port: potluckPort)
    let libtorrent = Endpoint(address: .v4(0x7f00_0001), port: UInt16(fixture.ports[1]))
    var potluckRates: [Double] = [], libtorrentRates: [Double] = []
    for round in 0..<5 {
        for isPotluck in round % 2 == 0 ? [true, false] : [false, true] {
            let rate = try Loader.run(target: isPotluck ? potluck : libtorrent, seconds: 2, window: 64)
            if isPotluck { potluckRates.append(rate) } else { libtorrentRates.append(rate) }
        }
    }
    return [BenchResult(bench: "dht-serve", caseName: "find_node + get answered (1 core)", unit: "queries/s",
                        potluck: median(potluckRates), reference: median(libtorrentRates))]
}

/// Sends KRPC queries from one UDP socket, keeping `window` of them outstanding, and counts replies.
enum Loader {
    static func run(target: Endpoint, seconds: Double, window: Int) throws -> Double {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("cannot open a UDP socket") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 0, tv_usec: 20_000)  // a lost reply stalls the window for 20 ms
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let queries = makeQueries()
        var outstanding = 0, answered = 0, next = 0
        var buffer = [UInt8](repeating: 0, count: 2048)
        let end = Date().addingTimeInterval(seconds)
        func send() {
            let query = queries[next % queries.count]
            next += 1
            _ = query.withUnsafeBytes { bytes in
                withSocketAddress(0x7F00_0001, port: target.port) { sendto(fd, bytes.baseAddress, bytes.count, 0, $0, $1) }
            }
            outstanding += 1
        }
        while Date() < end {
            while outstanding < window { send() }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                answered += 1
                outstanding -= 1
            } else {
                outstanding = 0  // lost in the timeout: refill the window
            }
        }
        return Double(answered) / seconds
    }

    /// Alternating `find_node` and `get` queries for random targets, each with its own
    /// transaction id, from a fixed querier id.
    static func makeQueries() -> [[UInt8]] {
        var random = SystemRandomNumberGenerator()
        let me = NodeID.random(using: &random)
        return (0..<4096).map { index in
            let target = NodeID.random(using: &random)
            let method: KRPCMessage.Method = index % 2 == 0 ? .findNode(target: target) : .get(target: target, sequence: nil)
            let transaction = KRPCTransactionID(UInt16(index)).bytes
            return KRPCMessage(transactionID: transaction, kind: .query(KRPCMessage.Query(id: me, method: method)), readOnly: true).encoded()
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
