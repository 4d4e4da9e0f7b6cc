import PotluckCrypto
@testable import JobChannel
import NIOCore
import Testing

/// Real TCP on 127.0.0.1 (`spec/0015-job-channel.md` §6–§7).
@Suite("job channel over loopback TCP", .timeLimit(.minutes(1)))
struct LoopbackTests {
    let server = key(Seeds.server), client = key(Seeds.client)

    /// Echoes every message until the client closes (admitting messages of any size).
    static let echo: @Sendable (SecureConnection) async -> Void = { connection in
        connection.admit(frameLimit: FrameCodec.maxMessageSize)
        while let message = try? await connection.receive() {
            guard (try? await connection.send(message)) != nil else { return }
        }
    }

    @Test func messagesOfEverySizeRoundTripBothDirectionsAtOnce() async throws {
        let peers = Shared<[PublicKey]>([])
        try await withServer(identity: server, handler: { connection in
            peers.update { $0.append(connection.peer) }
            await Self.echo(connection)
        }) { listener in
            let connection = try await JobChannelClient.connect(
                host: "127.0.0.1", port: listener.port, identity: client, expecting: server.publicKey)
            #expect(connection.peer == server.publicKey)
            #expect(connection.remoteAddress == "127.0.0.1:\(listener.port)")
            let big = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let messages: [[UInt8]] = [[], [42], big] + (0..<20).map { Array(repeating: UInt8($0), count: $0 * 1000) } + [big]
            async let sent: Void = { for message in messages { try await connection.send(message) } }()
            for message in messages {
                let echoed = try await connection.receive()
                #expect(echoed == message)
            }
            try await sent
            await connection.close()
        }
        #expect(peers.current == [client.publicKey])
    }

    @Test func aCleanCloseReadsAsNilAndStaysNil() async throws {
        try await withServer(identity: server, handler: { connection in
            try? await connection.send(Array("bye".utf8))
        }) { listener in
            let connection = try await JobChannelClient.connect(
                host: "127.0.0.1", port: listener.port, identity: client, expecting: server.publicKey)
            #expect(try await connection.receive() == Array("bye".utf8))
            #expect(try await connection.receive() == nil)
            #expect(try await connection.receive() == nil)
            await connection.close()
            await #expect(throws: JobChannel.ChannelError(.closed, "send after close")) { try await connection.send([1]) }
        }
    }

    @Test func theWrongServerKeyFailsTheClientAndTheServerSeesNoConnection() async throws {
        let handled = Shared(0)
        try await withServer(identity: server, handler: { _ in handled.update { $0 += 1 } }) { listener in
            let stranger = key(Seeds.stranger)
            await #expect { _ = try await JobChannelClient.connect(host: "127.0.0.1", port: listener.port, identity: client, expecting: stranger.publicKey) }
                throws: { ($0 as? JobChannel.ChannelError)?.code == .wrongPeer }
            #expect(await eventually { listener.statistics.failedHandshakes == 1 })
            #expect(listener.statistics.established == 0)
        }
        #expect(handled.current == 0)
    }

    @Test func aFlippedFrameByteFailsDecryption() async throws {
        try await withServer(identity: server, handler: { connection in
            try? await connection.send(Array(repeating: 7, count: 100))
            _ = try? await connection.receive()
        }) { listener in
            // Server→client: ServerHello (128) and the stream header (24), then the first frame.
            let relay = try await Relay(upstreamPort: listener.port, flipServerByteAt: 128 + 24 + 4 + 30)
            async let relaying: Void = relay.run()
            let connection = try await JobChannelClient.connect(
                host: "127.0.0.1", port: relay.port, identity: client, expecting: server.publicKey)
            await #expect { _ = try await connection.receive() } throws: { ($0 as? JobChannel.ChannelError)?.code == .decryptFailed }
            await connection.close()
            await relay.close()
            try await relaying
        }
    }

    @Test func aConnectionCutMidFrameIsTruncatedNotClosed() async throws {
        try await withServer(identity: server, handler: { connection in
            try? await connection.send(Array(repeating: 7, count: 1000))
            _ = try? await connection.receive()
        }) { listener in
            let relay = try await Relay(upstreamPort: listener.port, cutServerAfter: 128 + 24 + 4 + 500)
            async let relaying: Void = relay.run()
            let connection = try await JobChannelClient.connect(
                host: "127.0.0.1", port: relay.port, identity: client, expecting: server.publicKey)
            await #expect { _ = try await connection.receive() } throws: { ($0 as? JobChannel.ChannelError)?.code == .truncated }
            await connection.close()
            await relay.close()
            try await relaying
        }
    }

    @Test func aReplayedClientHandshakeIsRefused() async throws {
        let handled = Shared(0)
        try await withServer(identity: server, handler: { connection in
            handled.update { $0 += 1 }
            await Self.echo(connection)
        }) { listener in
            let relay = try await Relay(upstreamPort: listener.port)
            async let relaying: Void = relay.run()
            let honest = try await JobChannelClient.connect(
                host: "127.0.0.1", port: relay.port, identity: client, expecting: server.publicKey)
            await honest.close()
            let recorded = relay.clientBytes.current
            try #require(recorded.count >= 69 + 88)
            // Replay ClientHello and ClientFinish on a new TCP connection.
            let raw = try await ByteTransport.connect(host: "127.0.0.1", port: listener.port, timeout: .seconds(5))
            try await raw.write(Array(recorded[0..<69])).get()
            var received = 0
            while received < 128, let chunk = try await raw.read() { received += chunk.readableBytes }
            #expect(received == 128)
            try await raw.write(Array(recorded[69..<(69 + 88)])).get()
            #expect(try await raw.read() == nil)
            #expect(await eventually { listener.statistics.failedHandshakes == 1 })
            #expect(listener.statistics.lastFailure == .badSignature)
            #expect(listener.statistics.established == 1)
            await raw.close()
            await relay.close()
            try await relaying
        }
        #expect(handled.current == 1)
    }

    @Test func anOversizeLengthPrefixIsRefusedWithoutAllocating() async throws {
        let failure = Shared<JobChannel.ChannelError.Code?>(nil)
        try await withServer(identity: server, handler: { connection in
            do { _ = try await connection.receive() } catch { failure.update { $0 = (error as? JobChannel.ChannelError)?.code } }
        }) { listener in
            let connection = try await JobChannelClient.connect(
                host: "127.0.0.1", port: listener.port, identity: client, expecting: server.publicKey)
            try await connection.transport.write([0xff, 0xff, 0xff, 0xf0]).get()
            #expect(await eventually { failure.current != nil })
            #expect(failure.current == .frameTooLarge)
            await connection.close()
        }
    }

    @Test func aSilentClientIsDroppedAfterTheHandshakeTimeout() async throws {
        try await withServer(identity: server, handshakeTimeout: .milliseconds(300), handler: { _ in }) { listener in
            // Timed from before the connect: the server's deadline starts at its accept, which
            // comes after, however long this task waits to resume (the suite starts hundreds at once).
            let start = ContinuousClock.now
            let raw = try await ByteTransport.connect(host: "127.0.0.1", port: listener.port, timeout: .seconds(5))
            #expect(try await raw.read() == nil)
            let waited = ContinuousClock.now - start
            #expect(waited >= .milliseconds(250) && waited < .seconds(5))
            #expect(await eventually { listener.statistics.lastFailure == .timedOut })
            await raw.close()
        }
    }

    @Test func nothingListeningIsAnIOError() async throws {
        let probe = try await JobChannelServer.bind(host: "127.0.0.1", port: 0, identity: server) { _ in }
        let port = probe.port
        await probe.close()
        try await probe.run()  // returns at once: the listener is closed
        await #expect { _ = try await JobChannelClient.connect(host: "127.0.0.1", port: port, identity: client, expecting: server.publicKey) }
            throws: { ($0 as? JobChannel.ChannelError)?.code == .io }
    }
}

@Suite("job channel server lifecycle", .timeLimit(.minutes(1)))
struct ServerLifecycleTests {
    @Test func cancellingRunStopsTheServerAndItsHandlers() async throws {
        let server = key(Seeds.server), client = key(Seeds.client)
        let listener = try await JobChannelServer.bind(host: "127.0.0.1", port: 0, identity: server) { connection in
            _ = try? await connection.receive()  // blocks until cancelled
        }
        let running = Task { try await listener.run() }
        let connection = try await JobChannelClient.connect(
            host: "127.0.0.1", port: listener.port, identity: client, expecting: server.publicKey)
        running.cancel()
        _ = await running.result
        // The handler's receive was cancelled: the connection was dropped without FINAL.
        await #expect { _ = try await connection.receive() } throws: { ($0 as? JobChannel.ChannelError)?.code == .truncated }
    }
}
