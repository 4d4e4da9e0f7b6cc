import PotluckCrypto
@testable import JobChannel
import Testing

/// Receipts for a tunnel's datagrams (spec 0021 §5.5): the control frames' wire, and a real
/// tunnel on loopback whose relay proposes, period by period, what the node then checks against
/// its own count. The signing and the ledgers are the node's (NodeTests).
extension TunnelTests {
    @Test func controlFramesPassOnlyInATunnelThatCarriesReceipts() throws {
        let answer = TunnelWire.control(RelayWire.countersignedTag, Array("r".utf8))
        #expect(hex(answer) == String(repeating: "0", count: 36) + "0002" + "4172")
        var receipts = TunnelWire.Decoder(receipts: true)
        receipts.push(answer + TunnelWire.keepAlive)
        #expect(try receipts.next() == .control(RelayWire.countersignedTag, Array("r".utf8)))
        #expect(try receipts.next() == .keepAlive)
        var plain = TunnelWire.Decoder()
        plain.push(answer)
        #expect(throws: JobChannel.ChannelError.self, "a plain tunnel has no control frames") { _ = try plain.next() }
        // What a receipt names as its job (spec 0021 §5.5): the tunnel opened with an all-zero
        // nonce, period 1; and circuit 7.
        let period = RelayedCircuit(tunnel: [UInt8](repeating: 0, count: 32), period: 1, bytes: 1, start: 0, end: 0)
        #expect(hex(period.digest.bytes) == "9c8a75f609989a2fa30122732f19a98fc5e428e4ae0da7023eebc70c2dea7e20")
        #expect(hex(RelayedCircuit(circuit: 7, bytes: 1, start: 0, end: 0).digest.bytes)
                == "8b816420732239bc492dd7dd2c8a9b136a548baee8c7de2d09e6e58e8c89e858")
        var oversized = TunnelWire.Decoder(receipts: true)
        oversized.push([UInt8](repeating: 0, count: 18) + [0x08, 0x02])
        #expect(throws: JobChannel.ChannelError.self, "a control frame over 2049 bytes") { _ = try oversized.next() }
    }

    @Test func theRelayProposesEachPeriodsBytesAndTheNodeChecksThemAgainstItsCount() async throws {
        var limits = RelayServer.Limits()
        limits.tunnelReceiptInterval = .milliseconds(200)
        let relayLedger = RecordingLedger(), nodeLedger = RecordingLedger()
        try await withRelayAndEcho(limits: limits, ledger: relayLedger) { port, _, echo in
            let tunnel = try await DatagramTunnel.open(host: "127.0.0.1", port: port, identity: nodeKey, ledger: nodeLedger, timeout: .seconds(60))
            #expect(tunnel.ledger != nil, "the relay took the tunnel with receipts")
            let (received, arrival) = AsyncStream.makeStream(of: [UInt8].self)
            let reader = Task { try? await tunnel.run { bytes, _ in arrival.yield(bytes) }; arrival.finish() }
            defer { reader.cancel() }
            var replies = received.makeAsyncIterator()
            // Beside it, a node without a ledger opens a plain tunnel: the relay never proposes
            // on it (a control frame would end it), and its periods are not numbered.
            let plain = try await DatagramTunnel.open(host: "127.0.0.1", port: port, identity: SigningKey.generate(), timeout: .seconds(60))
            #expect(plain.ledger == nil)
            let (plainReceived, plainArrival) = AsyncStream.makeStream(of: [UInt8].self)
            let plainReader = Task { try? await plain.run { bytes, _ in plainArrival.yield(bytes) }; plainArrival.finish() }
            defer { plainReader.cancel() }
            var plainReplies = plainReceived.makeAsyncIterator()
            plain.send([(Array("plain".utf8), echo)])
            #expect(await plainReplies.next() == Array("echo:plain".utf8))

            // "ping" out and "echo:ping" back: 13 bytes, in one period or two.
            tunnel.send([(Array("ping".utf8), echo)])
            #expect(await replies.next() == Array("echo:ping".utf8))
            let claimed = { relayLedger.proposed.current.reduce(0) { $0 + $1.bytes } }
            #expect(await eventually(within: .seconds(60)) { claimed() == 13 && relayLedger.answers.current.count == relayLedger.proposed.current.count })
            // Then 15 more.
            tunnel.send([(Array("again".utf8), echo)])
            #expect(await replies.next() == Array("echo:again".utf8))
            #expect(await eventually(within: .seconds(60)) { claimed() == 28 && relayLedger.answers.current.count == relayLedger.proposed.current.count })

            let proposed = relayLedger.proposed.current, seen = nodeLedger.seen.current
            #expect(proposed.map(\.circuit) == Array(1...UInt64(proposed.count)), "periods are numbered from 1")
            #expect(seen.map(\.digest) == proposed.map(\.digest), "both sides name each period alike")
            // The node counts a datagram when it sends or receives it; the relay may count it in
            // the next period (in flight at the cut), so each period the node saw at least the
            // claim, and what it countersigned carries over (spec 0021 §5.5).
            #expect(zip(seen, proposed).allSatisfy { $0.bytes >= $1.bytes }, "the node counted at least what the relay claimed: \(seen) \(proposed)")
            #expect(relayLedger.answers.current == proposed.map { .countersigned(Array("claim \($0.bytes) ok".utf8)) })
            plain.send([(Array("still".utf8), echo)])
            #expect(await plainReplies.next() == Array("echo:still".utf8), "the plain tunnel outlived several periods")
            tunnel.close()
            plain.close()
        }
    }
}
