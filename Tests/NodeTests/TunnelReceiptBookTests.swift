import Foundation
import JobChannel
import Logging
@testable import Node
import PotluckCrypto
import Records
import Storage
import Testing

/// A tunnel's datagrams as a counted gift (spec 0021 §5.5), end to end on loopback: a real relay
/// and a real tunnel, each side keeping its ledger in real LMDB files with real signatures.
@Suite struct TunnelReceiptBookTests {
    let relayKey = SigningKey.generate(), nodeKey = SigningKey.generate()

    @Test func theRelayAndTheTunnelledNodeBothKeepReceiptsForTheDatagramsCarried() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("potluck-tunnel-book-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let relayEnvironment = try Environment(path: root + "/relay"), nodeEnvironment = try Environment(path: root + "/node")
        defer { relayEnvironment.close(); nodeEnvironment.close() }
        let logger = Logger(label: "test")
        let relayBook = RelayReceiptBook(identity: relayKey, receipts: try ReceiptStore(environment: relayEnvironment), logger: logger)
        let nodeBook = RelayReceiptBook(identity: nodeKey, receipts: try ReceiptStore(environment: nodeEnvironment), logger: logger)

        var limits = RelayServer.Limits()
        limits.tunnelReceiptInterval = .milliseconds(200)
        let relay = RelayServer(identity: relayKey, limits: limits, ledger: relayBook)
        let server = try await JobChannelServer.bind(host: "127.0.0.1", port: 0, identity: relayKey, relay: relay) { _ in }
        let serving = Task { try await server.run() }
        defer { serving.cancel() }

        let tunnel = try await DatagramTunnel.open(host: "127.0.0.1", port: server.port, identity: nodeKey, ledger: nodeBook, timeout: .seconds(60))
        let running = Task { try? await tunnel.run { _, _ in } }
        defer { running.cancel() }
        // Three datagrams of 1000 bytes to a port where no one listens: the relay sends them on.
        let nowhere = try #require(WireEndpoint(host: "127.0.0.1", port: 9))
        tunnel.send((0..<3).map { _ in ([UInt8](repeating: 7, count: 1000), nowhere) })

        let complete = { (book: RelayReceiptBook) in ((try? book.receipts.all()) ?? []).filter(\.isComplete) }
        // A generous deadline on the fact: in the full suite, simulations hold both of the
        // cooperative pool's threads for minutes and the relay's 200 ms ticks wait their turn.
        let deadline = ContinuousClock.now + .seconds(240)
        while complete(relayBook).reduce(0, { $0 + $1.body.relayedBytes }) < 3000, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let held = complete(relayBook)
        #expect(held.reduce(0) { $0 + $1.body.relayedBytes } == 3000, "\(held)")
        #expect(Set(held.map(\.id)) == Set(complete(nodeBook).map(\.id)), "both sides keep the same receipts")
        for receipt in held {
            #expect(receipt.body.provider == relayKey.publicKey && receipt.body.consumer == nodeKey.publicKey && receipt.body.coreMilliseconds == 0)
            try receipt.validateComplete()
        }
        tunnel.close()
        await server.close()
    }
}
