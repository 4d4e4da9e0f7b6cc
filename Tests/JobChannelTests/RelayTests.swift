import PotluckCrypto
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
    /// The lender punches for `punch` (§6; `nil`: never) and keeps its side's connections in
    /// `served`.
    func withRelayAndLender(
        listen: Bool = true, punch: Duration? = nil, served: Shared<[SecureConnection]> = Shared([]),
        relayLedger: (any RelayLedger)? = nil, lenderLedger: (any RelayLedger)? = nil, limits: RelayServer.Limits = .init(),
        _ body: (_ relayPort: Int, _ relay: RelayServer) async throws -> Void
    ) async throws {
        let relay = RelayServer(identity: relayKey, limits: limits, ledger: relayLedger)
        // Deadlines far above the test's own: these tests are about relaying, and the test process
        // may leave a continuation waiting while hundreds of tests start at once (CI measured
        // trivial tests finishing 107 s after they started, while the simulations held both
        // threads of the pool).
        var patient = JobChannelServer.Limits()
        patient.handshakeTimeout = .seconds(300)
        let relayServer = try await JobChannelServer.bind(host: "127.0.0.1", port: 0, identity: relayKey, limits: patient, relay: relay) { _ in }
        let lender = try await JobChannelServer.bind(host: "127.0.0.1", port: 0, identity: lenderKey, limits: patient) { connection in
            served.update { $0.append(connection) }
            connection.admit(frameLimit: FrameCodec.maxMessageSize)
            while let message = try? await connection.receive() {
                try? await connection.send(message.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 32 : $0 })
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await relayServer.run() }
            let listening = Shared(false), holdError = Shared<String?>(nil)
            if listen {
                group.addTask { [lenderKey] in
                    // The listener's own deadline (connect, handshake) as patient as the relay's.
                    do {
                        try await RelayListener.hold(host: "127.0.0.1", port: relayServer.port, identity: lenderKey, server: lender,
                                                     timeout: .seconds(300), punch: punch, ledger: lenderLedger) {
                            listening.update { $0 = true }
                        }
                    } catch {
                        holdError.update { $0 = "\(error)" }
                    }
                }
                // As patient as the deadlines above, for the same reason.
                #expect(await eventually(within: .seconds(300)) { listening.current || holdError.current != nil })
                #expect(listening.current, "the lender did not listen: \(holdError.current ?? "no error")")
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
                                                                expecting: lenderKey.publicKey, punch: nil)
            #expect(connection.path == .relayed(relay: "127.0.0.1:\(port)"))
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

    /// Relaying as a counted gift (spec 0021 §5.5): when a circuit ends, the relay proposes a
    /// receipt for the bytes it relayed over the lender's session, and the lender answers from
    /// the bytes it counted itself, which are never fewer.
    @Test func aCircuitThatEndsBringsAReceiptProposalAndItsAnswer() async throws {
        let relayLedger = RecordingLedger(), lenderLedger = RecordingLedger()
        try await withRelayAndLender(relayLedger: relayLedger, lenderLedger: lenderLedger) { port, relay in
            let connection = try await JobChannelClient.connect(relay: "127.0.0.1", port: port, identity: borrowerKey,
                                                                expecting: lenderKey.publicKey, punch: nil)
            let message = [UInt8](repeating: 0x61, count: 100_000)
            try await connection.send(message)
            #expect(try await connection.receive() == [UInt8](repeating: 0x41, count: 100_000))
            await connection.close()
            #expect(await eventually(within: .seconds(300)) { relayLedger.answers.current.count == 1 })
            let proposed = try #require(relayLedger.proposed.current.first), seen = try #require(lenderLedger.seen.current.first)
            #expect(proposed.circuit == seen.circuit && proposed.bytes > 200_000 && proposed.bytes <= seen.bytes, "\(proposed) \(seen)")
            #expect(proposed.bytes == relay.statistics.bytesRelayed)
            #expect(relayLedger.answers.current == [.countersigned(Array("claim \(proposed.bytes) ok".utf8))])
        }
    }

    /// A home's upload is its owner's: past the day's budget the relay cuts the circuit and
    /// refuses new ones, saying it is full.
    @Test func theDaysBudgetCutsACircuitAndRefusesTheNext() async throws {
        var limits = RelayServer.Limits()
        limits.bytesPerDay = 1 << 20
        try await withRelayAndLender(limits: limits) { port, relay in
            let connection = try await JobChannelClient.connect(relay: "127.0.0.1", port: port, identity: borrowerKey,
                                                                expecting: lenderKey.publicKey, punch: nil)
            try await connection.send([UInt8](repeating: 0x61, count: 3 << 20))
            await #expect(throws: (any Error).self) { _ = try await connection.receive() }
            await connection.close()
            #expect(relay.statistics.bytesRelayed < 2 << 20, "cut near the budget: \(relay.statistics.bytesRelayed)")
            do {
                _ = try await JobChannelClient.connect(relay: "127.0.0.1", port: port, identity: borrowerKey, expecting: lenderKey.publicKey, punch: nil)
                Issue.record("a circuit opened past the day's budget")
            } catch let error as JobChannel.ChannelError {
                #expect(error.description.contains("the relay is full"), "\(error)")
            }
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

    // MARK: Hole punching (spec 0021 §6)

    /// On loopback both sides punch straight to each other: the connection moves while
    /// messages flow both ways, and none is lost, duplicated or reordered.
    @Test func aRelayedConnectionMovesToAPunchedOneWithoutLosingAMessage() async throws {
        let served = Shared<[SecureConnection]>([])
        try await withRelayAndLender(punch: .seconds(5), served: served) { port, relay in
            let connection = try await JobChannelClient.connect(relay: "127.0.0.1", port: port, identity: borrowerKey,
                                                                expecting: lenderKey.publicKey, punch: .seconds(5))
            // Keep messages in flight across the move: numbered ones until the connection has
            // moved (at most 20,000), then 200 more and an end mark, each echoed.
            async let echoes: [String] = {
                var echoes: [String] = []
                while let echo = try await connection.receive() {
                    let text = String(decoding: echo, as: UTF8.self)
                    if text == "END" { break }
                    echoes.append(text)
                }
                return echoes
            }()
            var sent = 0
            while sent < 20_000, connection.path != .punched(relay: "127.0.0.1:\(port)") {
                try await connection.send(Array("message \(sent)".utf8))
                sent += 1
            }
            for _ in 0..<200 {
                try await connection.send(Array("message \(sent)".utf8))
                sent += 1
            }
            try await connection.send(Array("end".utf8))
            #expect(try await echoes == (0..<sent).map { "MESSAGE \($0)" })
            #expect(await eventually { connection.path == .punched(relay: "127.0.0.1:\(port)") }, "\(connection.path)")
            #expect(await eventually { served.current.first?.path == .punched(relay: "127.0.0.1:\(port)") })
            // Once moved, the bytes no longer cross the relay.
            let before = relay.statistics.bytesRelayed
            let big = [UInt8](repeating: 0x62, count: 2 << 20)
            try await connection.send(big)
            #expect(try await connection.receive() == [UInt8](repeating: 0x42, count: 2 << 20))
            #expect(relay.statistics.bytesRelayed - before < 1 << 10, "\(relay.statistics.bytesRelayed - before) bytes still went through the relay")
            await connection.close()
        }
    }

    /// A lender that does not punch leaves the borrower's attempts unanswered: the connection
    /// stays on the relay and works as before.
    @Test func aPunchWithNoOneOnTheOtherSideLeavesTheConnectionRelayed() async throws {
        try await withRelayAndLender(punch: nil) { port, _ in
            let connection = try await JobChannelClient.connect(relay: "127.0.0.1", port: port, identity: borrowerKey,
                                                                expecting: lenderKey.publicKey, punch: .milliseconds(300))
            try await connection.send(Array("before".utf8))
            #expect(try await connection.receive() == Array("BEFORE".utf8))
            #expect(await eventually { connection.punchSettled }, "the punch gave up within its window")
            try await connection.send(Array("after".utf8))
            #expect(try await connection.receive() == Array("AFTER".utf8))
            #expect(connection.path == .relayed(relay: "127.0.0.1:\(port)"))
            await connection.close()
        }
    }

    /// A punched connection to a host that cannot prove the session's secret is closed: two
    /// sessions' ends meet by simultaneous open, and neither proof verifies.
    @Test func aPunchedConnectionFromAnotherSessionIsRefused() async throws {
        func keys() -> SessionKeys {
            SessionKeys(staticShared: Bytes32(SecureRandom.bytes(32))!, ephemeralShared: Bytes32(SecureRandom.bytes(32))!,
                        serverTranscript: Bytes32(SecureRandom.bytes(32))!, clientTranscript: Bytes32(SecureRandom.bytes(32))!)
        }
        // A port below Linux's ephemeral range (32768-60999): a port 0 picked and released here
        // could be taken by another test's outgoing connection before the punch binds it again,
        // and the punch then never opens (seen when the suite runs in parallel).
        func freePort() async throws -> SocketAddress {
            for _ in 0..<100 {
                let port = Int.random(in: 20_000..<30_000)
                guard let listener = try? await ByteTransport.listen(host: "127.0.0.1", port: port) else { continue }
                try await listener.channel.close()
                return try SocketAddress(ipAddress: "127.0.0.1", port: port)
            }
            throw ChannelError(.io, "no free port below the ephemeral range")
        }
        func punch(_ keysA: SessionKeys, _ keysB: SessionKeys) async throws -> (Bool, Bool) {
            // Windows far above a quiet machine's milliseconds: the test process may leave a
            // continuation waiting for seconds while hundreds of tests start at once. Under that
            // load a simultaneous open on loopback has also once failed to meet in its window
            // (a fresh-clone CI run): up to three pairs of fresh ports, then it is a failure.
            var pair: (ByteTransport, ByteTransport)?
            var tried: [String] = []
            for _ in 0..<3 where pair == nil {
                let (a, b) = (try await freePort(), try await freePort())
                guard a != b else { continue }
                async let fromA = HolePunch.open(from: a, to: b, within: .seconds(30))
                async let fromB = HolePunch.open(from: b, to: a, within: .seconds(30))
                let (one, other) = await (fromA, fromB)
                if let one, let other { pair = (one, other) } else {
                    await one?.close()
                    await other?.close()
                    tried.append("\(a) and \(b)")
                }
            }
            guard let (opened, otherOpened) = pair else { throw ChannelError(.io, "no connection opened between \(tried.joined(separator: "; "))") }
            async let proven = HolePunch.prove(opened, keys: keysA, isClient: true, timeout: .seconds(30))
            async let otherProven = HolePunch.prove(otherOpened, keys: keysB, isClient: false, timeout: .seconds(30))
            let results = await (proven != nil, otherProven != nil)
            await opened.close()
            await otherOpened.close()
            return results
        }
        let shared = keys()
        #expect(try await punch(shared, shared) == (true, true), "one session: both ends prove it")
        #expect(try await punch(keys(), keys()) == (false, false), "two sessions: neither end is kept")
    }

    @Test func rendezvousVectors() throws {
        let rendezvous = RelayWire.Rendezvous(mine: WireEndpoint(host: "203.0.113.20", port: 40001),
                                              theirs: WireEndpoint(host: "203.0.113.80", port: 6891),
                                              theirsLocal: WireEndpoint(host: "10.0.7.2", port: 6891))
        #expect(Hex.encode(rendezvous.bytes) == "00000000000000000000ffffcb007114" + "9c41" + "00000000000000000000ffffcb007150" + "1aeb"
                + "00000000000000000000ffff0a000702" + "1aeb")
        #expect(RelayWire.Rendezvous(rendezvous.bytes) == rendezvous)
        #expect(rendezvous.target == WireEndpoint(host: "203.0.113.80", port: 6891), "different routers: the endpoint the relay saw")
        let sameRouter = RelayWire.Rendezvous(mine: WireEndpoint(host: "203.0.113.20", port: 40001),
                                              theirs: WireEndpoint(host: "203.0.113.20", port: 6891),
                                              theirsLocal: WireEndpoint(host: "10.0.1.3", port: 6891))
        #expect(sameRouter.target == WireEndpoint(host: "10.0.1.3", port: 6891), "one router: its LAN")
        #expect(WireEndpoint(host: "2001:db8::7", port: 443)?.description == "[2001:db8::7]:443")
        #expect(WireEndpoint([UInt8](repeating: 0, count: 18)) == nil)
        #expect(RelayWire.Rendezvous(mine: nil, theirs: nil, theirsLocal: nil).target == nil)
    }
}

/// Records what a relay and a lender say about their circuits; the lender "countersigns" by
/// appending " ok" (the signing is the node's, tested in NodeTests).
final class RecordingLedger: RelayLedger {
    let proposed = Shared<[RelayedCircuit]>([]), seen = Shared<[RelayedCircuit]>([]), answers = Shared<[RelayReceiptAnswer]>([])

    func proposal(for circuit: RelayedCircuit, lender: PublicKey) -> [UInt8]? {
        proposed.update { $0.append(circuit) }
        return Array("claim \(circuit.bytes)".utf8)
    }

    func answered(_ answer: RelayReceiptAnswer, by lender: PublicKey) { answers.update { $0.append(answer) } }

    func answer(_ proposal: [UInt8], seen circuit: RelayedCircuit) -> RelayReceiptAnswer {
        seen.update { $0.append(circuit) }
        return .countersigned(proposal + Array(" ok".utf8))
    }

    func relayedBytes(in receipt: [UInt8]) -> Int64 {
        Int64(String(decoding: receipt, as: UTF8.self).split(separator: " ").dropFirst().first ?? "") ?? 0
    }
}
