import Crypto
@testable import JobChannel
import NIOCore
import Testing

/// The relay (spec 0021 §5) on loopback: a lender that no borrower can dial listens at a relay;
/// a borrower reaches it through the relay, end to end, and the relay refuses what it must.
@Suite struct RelayTests {
    let relayKey = SigningKey.generate()
    let lenderKey = SigningKey.generate()
    let borrowerKey = SigningKey.generate()

    /// Runs a relay (a job-channel server with a relay), and a lender whose own server is only
    /// ever reached by dialling out to the relay; the lender echoes each message upper-cased.
    func withRelayAndLender(
        listen: Bool = true, _ body: (_ relayPort: Int, _ relay: RelayServer) async throws -> Void
    ) async throws {
        let relay = RelayServer(identity: relayKey)
        let relayServer = try await JobChannelServer.bind(host: "127.0.0.1", port: 0, identity: relayKey, relay: relay) { _ in }
        let lender = try await JobChannelServer.bind(host: "127.0.0.1", port: 0, identity: lenderKey) { connection in
            while let message = try? await connection.receive() {
                try? await connection.send(message.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 32 : $0 })
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await relayServer.run() }
            let listening = Shared(false)
            if listen {
                group.addTask { [lenderKey] in
                    try? await RelayListener.hold(host: "127.0.0.1", port: relayServer.port, identity: lenderKey, server: lender) {
                        listening.update { $0 = true }
                    }
                }
                #expect(await eventually { listening.current })
            }
            do { try await body(relayServer.port, relay) } catch {
                group.cancelAll()
                await relayServer.close()
                throw error
            }
            group.cancelAll()
            await relayServer.close()
            await lender.close()
        }
    }

    @Test func aBorrowerReachesAListeningLenderEndToEnd() async throws {
        try await withRelayAndLender { port, relay in
            let connection = try await JobChannelClient.connect(relay: "127.0.0.1", port: port, identity: borrowerKey,
                                                                expecting: lenderKey.publicKey)
            try await connection.send(Array("hello through the relay".utf8))
            #expect(try await connection.receive() == Array("HELLO THROUGH THE RELAY".utf8))
            let big = [UInt8](repeating: 0x61, count: 3 << 20)
            try await connection.send(big)
            #expect(try await connection.receive() == [UInt8](repeating: 0x41, count: 3 << 20))
            await connection.close()
            let statistics = relay.statistics
            #expect(statistics.circuitsOpened == 1 && statistics.listening == 1)
            #expect(statistics.bytesRelayed > 6 << 20, "the relay moved the bytes: \(statistics.bytesRelayed)")
        }
    }

    @Test func theRelayCannotPoseAsTheLender() async throws {
        try await withRelayAndLender { port, _ in
            await #expect(throws: JobChannel.ChannelError.self) {
                // The borrower expects the lender's key; the relay's own key is not it.
                _ = try await JobChannelClient.connect(host: "127.0.0.1", port: port, identity: borrowerKey,
                                                       expecting: lenderKey.publicKey)
            }
        }
    }

    @Test func anAbsentLenderIsNamedInTheRefusal() async throws {
        try await withRelayAndLender(listen: false) { port, relay in
            do {
                _ = try await JobChannelClient.connect(relay: "127.0.0.1", port: port, identity: borrowerKey, expecting: lenderKey.publicKey)
                Issue.record("connected to a lender that is not there")
            } catch let error as JobChannel.ChannelError {
                #expect(error.description.contains("the lender is not connected to this relay"), "\(error)")
            }
            #expect(relay.statistics.circuitsRefused == 1)
        }
    }

    @Test func aListenerWithAForgedSignatureIsRefused() async throws {
        try await withRelayAndLender(listen: false) { port, relay in
            let transport = try await ByteTransport.connect(host: "127.0.0.1", port: port, timeout: .seconds(5))
            var reader = ByteReader(transport)
            try await transport.write(RelayWire.listenTag + lenderKey.publicKey.bytes).get()
            let nonce = try await reader.read(32)
            let forged = borrowerKey.sign(RelayWire.listenMessage(nonce: nonce, key: lenderKey.publicKey))
            try await transport.write(forged.bytes).get()
            #expect(try await reader.read(1) == [RelayWire.Status.refused.rawValue])
            #expect(relay.statistics.listening == 0)
            await transport.close()
        }
    }

    @Test func aServerWithoutARelayDropsRelayPreambles() async throws {
        try await withServer(identity: lenderKey, handler: { _ in }) { server in
            do {
                _ = try await JobChannelClient.connect(relay: "127.0.0.1", port: server.port, identity: borrowerKey,
                                                       expecting: lenderKey.publicKey)
                Issue.record("a server without a relay spliced")
            } catch let error as JobChannel.ChannelError {
                #expect(error.code == .io)
            }
            #expect(await eventually { server.statistics.lastFailure == .badHandshake })
        }
    }
}
