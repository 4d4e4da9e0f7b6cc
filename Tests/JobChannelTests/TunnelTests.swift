import PotluckCrypto
@testable import JobChannel
import NIOCore
import NIOPosix
import Testing

/// Datagrams through a relay (spec 0021 §5.4): the wire's vectors, the relay's gate, and a real
/// tunnel on loopback that carries a node's datagrams to a UDP peer and back, and not a stranger's.
@Suite struct TunnelTests {
    let relayKey = SigningKey.generate()
    let nodeKey = SigningKey.generate()

    // MARK: Wire and gate (sans I/O)

    /// Spec 0021 §5.4's vector: a 5-byte datagram to 203.0.113.10:6891.
    @Test func frameVector() throws {
        let to = try #require(WireEndpoint(host: "203.0.113.10", port: 6891))
        let frame = try #require(TunnelWire.frame(Array("d1:ye".utf8), endpoint: to))
        #expect(hex(frame) == "00000000000000000000ffffcb00710a1aeb" + "0005" + "64313a7965")
        #expect(hex(TunnelWire.keepAlive) == String(repeating: "0", count: 40))
        #expect(TunnelWire.frame([], endpoint: to) == nil)
        #expect(TunnelWire.frame([UInt8](repeating: 1, count: TunnelWire.maxDatagram + 1), endpoint: to) == nil)
    }

    @Test func theDecoderCutsFramesHoweverTheStreamIsSplit() throws {
        let a = try #require(WireEndpoint(host: "203.0.113.10", port: 6891)), b = try #require(WireEndpoint(host: "2001:db8::7", port: 1))
        let stream = try #require(TunnelWire.frame([1, 2, 3], endpoint: a)) + TunnelWire.keepAlive
            + (try #require(TunnelWire.frame([UInt8](repeating: 9, count: 1472), endpoint: b)))
        let expected: [TunnelWire.Frame] = [.datagram([1, 2, 3], a), .keepAlive, .datagram([UInt8](repeating: 9, count: 1472), b)]
        for cut in [1, 7, 20, 23, 500, stream.count] {
            var decoder = TunnelWire.Decoder(), frames: [TunnelWire.Frame] = []
            for start in stride(from: 0, to: stream.count, by: cut) {
                decoder.push(stream[start..<min(stream.count, start + cut)])
                while let frame = try decoder.next() { frames.append(frame) }
            }
            #expect(frames == expected, "cut every \(cut) bytes")
        }
    }

    @Test func theDecoderRefusesFramesNoPeerMaySend() {
        let to = WireEndpoint.encode(WireEndpoint(host: "203.0.113.10", port: 6891))
        for (bytes, why) in [(to + [0x05, 0xC1], "over 1472 bytes"), (to + [0, 0], "an endpoint without a datagram"),
                             ([UInt8](repeating: 0, count: 18) + [0, 1, 7], "a datagram without an endpoint")] {
            var decoder = TunnelWire.Decoder()
            decoder.push(bytes)
            #expect(throws: JobChannel.ChannelError.self, "\(why)") {
                var copy = decoder
                _ = try copy.next()
            }
        }
    }

    @Test func theGateLetsInRepliesOnlyAndCapsTheRate() throws {
        var limits = TunnelGate.Limits()
        limits.perSecond = 10
        limits.burst = 3
        limits.permission = .seconds(300)
        var gate = TunnelGate(limits: limits, now: .zero)
        let peer = try #require(WireEndpoint(host: "203.0.113.10", port: 6891)), stranger = try #require(WireEndpoint(host: "203.0.113.11", port: 6891))
        #expect(!gate.lets(in: peer, now: .zero))
        #expect((0..<4).map { _ in gate.send(to: peer, now: .seconds(1)) } == [true, true, true, false])
        let refilled = gate.send(to: peer, now: .milliseconds(1100))
        #expect(refilled, "a tenth of a second later one more token")
        #expect(gate.lets(in: peer, now: .seconds(300)) && !gate.lets(in: stranger, now: .seconds(2)))
        #expect(!gate.lets(in: peer, now: .milliseconds(301_100)), "permissions last 300 s after the last datagram out")
    }

    // MARK: A real tunnel on loopback

    /// A relay and a UDP echo peer; `body` gets the relay's port and the echo's endpoint.
    func withRelayAndEcho(relaying: Bool = true, limits: RelayServer.Limits = RelayServer.Limits(), ledger: (any RelayLedger)? = nil,
                          _ body: (_ relayPort: Int, _ relay: RelayServer, _ echo: WireEndpoint) async throws -> Void) async throws {
        let relay = RelayServer(identity: relayKey, limits: limits, ledger: ledger)
        var patient = JobChannelServer.Limits()
        patient.handshakeTimeout = .seconds(60)
        let server = try await JobChannelServer.bind(host: "127.0.0.1", port: 0, identity: relayKey, limits: patient,
                                                     relay: relaying ? relay : nil) { _ in }
        let echo = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(wrappingChannelSynchronously: channel)
            }
        }
        let echoEndpoint = try #require(WireEndpoint(echo.channel.localAddress))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            group.addTask {
                try await echo.executeThenClose { inbound, outbound in
                    for try await envelope in inbound {
                        try await outbound.write(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: ByteBuffer(bytes: Array("echo:".utf8) + envelope.data.readableBytesView)))
                    }
                }
            }
            defer { group.cancelAll() }
            try await body(server.port, relay, echoEndpoint)
            await server.close()
            try await echo.channel.close()
        }
    }

    @Test func aTunnelCarriesDatagramsToAPeerAndBackButNotAStrangers() async throws {
        try await withRelayAndEcho { port, relay, echo in
            let tunnel = try await DatagramTunnel.open(host: "127.0.0.1", port: port, identity: nodeKey, timeout: .seconds(60))
            let relayed = try #require(tunnel.relayed)
            #expect(relayed.host == "127.0.0.1" && relayed.port != port)
            let (received, arrival) = AsyncStream.makeStream(of: ([UInt8], WireEndpoint).self)
            let reader = Task { try? await tunnel.run { bytes, source in arrival.yield((bytes, source)) }; arrival.finish() }
            defer { reader.cancel() }
            var replies = received.makeAsyncIterator()

            tunnel.send([(Array("ping".utf8), echo)])
            let reply = await replies.next()
            #expect(reply?.0 == Array("echo:ping".utf8) && reply?.1 == echo)
            #expect(relay.statistics.tunnels == 1 && relay.statistics.datagramsTunnelled == 2)

            // A stranger writes to the relayed endpoint: the relay drops it (no permission).
            let stranger = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
            try await stranger.writeAndFlush(AddressedEnvelope(remoteAddress: try #require(relayed.socketAddress), data: ByteBuffer(bytes: [1, 2, 3])))
            #expect(await eventually(within: .seconds(90)) { relay.statistics.datagramsDropped == 1 })
            try await stranger.close()
            // The next datagram the node receives is the echo's reply, not the stranger's.
            tunnel.send([(Array("again".utf8), echo)])
            #expect(await replies.next()?.0 == Array("echo:again".utf8))

            tunnel.close()
            #expect(await eventually(within: .seconds(90)) { relay.statistics.tunnels == 0 }, "the relay let the tunnel go")
        }
    }

    @Test func aTunnelWithAForgedSignatureIsRefused() async throws {
        try await withRelayAndEcho { port, relay, _ in
            let transport = try await ByteTransport.connect(host: "127.0.0.1", port: port, timeout: .seconds(60))
            var reader = ByteReader(transport)
            try await transport.write(TunnelWire.tag + nodeKey.publicKey.bytes).get()
            let nonce = try await reader.read(32)
            try await transport.write(relayKey.sign(TunnelWire.openMessage(nonce: nonce, key: nodeKey.publicKey.bytes)).bytes).get()
            #expect(try await reader.read(1) == [RelayWire.Status.refused.rawValue])
            #expect(relay.statistics.tunnels == 0)
            await transport.close()
        }
    }

    @Test func aServerThatDoesNotRelayOpensNoTunnel() async throws {
        try await withRelayAndEcho(relaying: false) { port, _, _ in
            await #expect(throws: JobChannel.ChannelError.self) {
                _ = try await DatagramTunnel.open(host: "127.0.0.1", port: port, identity: nodeKey, timeout: .seconds(60))
            }
        }
    }

    func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16) }.map { $0.count == 1 ? "0" + $0 : $0 }.joined()
    }
}
