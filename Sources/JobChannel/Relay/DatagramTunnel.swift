// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import PotluckCrypto
import NIOCore
import Synchronization

/// A node's side of a datagram tunnel (`spec/0021-reachability.md` §5.4): on a network that
/// blocks UDP, the node's DHT datagrams travel over one TCP connection to a relay, which sends
/// them from its own UDP socket (``relayed``) and passes back the replies.
public final class DatagramTunnel: Sendable {
    /// The relay, `HOST:PORT`.
    public let relay: String
    /// The relay's UDP endpoint for this node: where others see its datagrams come from.
    public let relayed: WireEndpoint?
    /// Answers the relay's receipt proposals (§5.5); `nil` when the tunnel carries none (no
    /// ledger, or a relay that predates them).
    let ledger: (any RelayLedger)?
    private let nonce: [UInt8]
    private let transport: ByteTransport
    private let early: [UInt8]
    /// The bytes of the datagrams this node sent and received through the tunnel.
    private let counted = Atomic<Int64>(0)

    private init(relay: String, relayed: WireEndpoint?, ledger: (any RelayLedger)?, nonce: [UInt8], transport: ByteTransport, early: [UInt8]) {
        self.relay = relay
        self.relayed = relayed
        self.ledger = ledger
        self.nonce = nonce
        self.transport = transport
        self.early = early
    }

    /// Opens a tunnel at the relay `host:port` as `identity`. With a `ledger` it asks for one that
    /// carries receipts for the datagrams (``TunnelWire/receiptsTag``, §5.5), and opens a plain
    /// one at a relay that predates them.
    public static func open(host: String, port: Int, identity: SigningKey, ledger: (any RelayLedger)? = nil,
                            timeout: Duration = .seconds(10)) async throws(ChannelError) -> DatagramTunnel {
        if let ledger, let tunnel = try await open(host: host, port: port, identity: identity, ledger: ledger, tag: TunnelWire.receiptsTag, timeout: timeout) {
            return tunnel
        }
        guard let tunnel = try await open(host: host, port: port, identity: identity, ledger: nil, tag: TunnelWire.tag, timeout: timeout) else {
            throw ChannelError(.truncated, "the relay \(WireEndpoint(host: host, port: port)?.description ?? host) closed the connection unanswered")
        }
        return tunnel
    }

    /// Opens a tunnel with the preamble `tag`; `nil` if the relay closed the connection before
    /// sending its nonce (it does not know the tag).
    private static func open(host: String, port: Int, identity: SigningKey, ledger: (any RelayLedger)?, tag: [UInt8],
                             timeout: Duration) async throws(ChannelError) -> DatagramTunnel? {
        let relay = WireEndpoint(host: host, port: port)?.description ?? "\(host):\(port)"
        let transport: ByteTransport
        do { transport = try await ByteTransport.connect(host: host, port: port, timeout: timeout) } catch {
            throw ChannelError(.io, "could not connect to the relay \(relay): \(error)")
        }
        let deadline = transport.channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) { transport.abort() }
        defer { deadline.cancel() }
        do {
            var reader = ByteReader(transport)
            try await transport.write(tag + identity.publicKey.bytes).get()
            let nonce: [UInt8]
            do { nonce = try await reader.read(32) } catch let error as ChannelError where error.code == .truncated {
                transport.abort()
                return nil
            }
            try await transport.write(identity.sign(TunnelWire.openMessage(nonce: nonce, key: identity.publicKey.bytes)).bytes).get()
            let status = try await reader.read(1)[0]
            guard status == RelayWire.Status.spliced.rawValue else {
                await transport.close()
                throw ChannelError(.io, "the relay \(relay) refused a tunnel: \(RelayWire.Status(rawValue: status)?.reason ?? "status \(status)")")
            }
            let relayed = WireEndpoint(try await reader.read(RelayWire.endpointSize))
            return DatagramTunnel(relay: relay, relayed: relayed, ledger: ledger, nonce: nonce, transport: transport, early: reader.buffered)
        } catch let error as ChannelError {
            transport.abort()
            throw error
        } catch {
            transport.abort()
            throw ChannelError(.io, "the relay \(relay) did not open a tunnel: \(error)")
        }
    }

    /// Sends datagrams through the relay, without waiting; one that cannot be framed (empty or
    /// too large) is left out, as a socket would refuse it. Returns how many were left out.
    @discardableResult
    public func send(_ datagrams: [(bytes: [UInt8], to: WireEndpoint)]) -> Int {
        var framed: [UInt8] = []
        var refused = 0
        var bytesSent: Int64 = 0
        for (bytes, destination) in datagrams {
            guard let frame = TunnelWire.frame(bytes, endpoint: destination) else {
                refused += 1
                continue
            }
            framed += frame
            bytesSent += Int64(bytes.count)
        }
        counted.add(bytesSent, ordering: .relaxed)
        if !framed.isEmpty { _ = transport.write(framed) }
        return refused
    }

    /// Hands each datagram the relay passes on to `received` until the tunnel closes, the task
    /// is cancelled, or the relay is silent for `idleLimit` (it sends keep-alives, and so does
    /// this side, every `keepAlive`). Throws why it ended.
    public func run(idleLimit: Duration = .seconds(75), keepAlive: Duration = .seconds(25),
                    received: @Sendable (_ datagram: [UInt8], _ from: WireEndpoint) -> Void) async throws(ChannelError) {
        let transport = transport
        let loop = transport.channel.eventLoop
        let alive = loop.scheduleRepeatedTask(initialDelay: TimeAmount(keepAlive), delay: TimeAmount(keepAlive)) { _ in
            _ = transport.write(TunnelWire.keepAlive)
        }
        defer { alive.cancel() }
        var idle = loop.scheduleTask(in: TimeAmount(idleLimit)) { transport.abort() }
        defer { idle.cancel() }
        var decoder = TunnelWire.Decoder(receipts: ledger != nil)
        decoder.push(early)
        var receipts = TunnelReceipts(start: RelayedCircuit.now())
        do {
            try await withTaskCancellationHandler {
                while true {
                    while let frame = try decoder.next() {
                        switch frame {
                        case .datagram(let bytes, let source):
                            counted.add(Int64(bytes.count), ordering: .relaxed)
                            received(bytes, source)
                        case .control(RelayWire.proposalTag, let proposal):
                            if let ledger { _ = transport.write(receipts.answer(proposal, ledger: ledger, nonce: nonce, counted: counted.load(ordering: .relaxed))) }
                        case .control(let tag, _):
                            throw ChannelError(.io, "the relay \(relay) sent a tunnel control frame with the unknown tag \(tag)")
                        case .keepAlive:
                            continue
                        }
                    }
                    guard let chunk = try await transport.read() else { break }
                    idle.cancel()
                    idle = loop.scheduleTask(in: TimeAmount(idleLimit)) { transport.abort() }
                    decoder.push(chunk.readableBytesView)
                }
            } onCancel: {
                transport.abort()
            }
        } catch let error as ChannelError {
            transport.abort()
            throw error
        } catch {
            transport.abort()
            throw ChannelError(.closed, "the tunnel through \(relay) closed: \(error)")
        }
        await transport.close()
        throw ChannelError(.closed, "the relay \(relay) closed the tunnel")
    }

    /// Closes the tunnel; ``run(idleLimit:keepAlive:received:)`` returns.
    public func close() { transport.abort() }
}

/// A tunnelled node's side of the receipts for its datagrams (`spec/0021-reachability.md` §5.5):
/// the relay's `n`th proposal covers the `n`th period, from the previous proposal (or the tunnel's
/// opening) to now. The bytes the node checks it against are all it counted less what it has
/// already countersigned, so a datagram in flight when the relay cut a period counts in the next.
struct TunnelReceipts {
    var period: UInt64 = 0
    var start: Int64
    var acknowledged: Int64 = 0

    /// Checks the relay's proposal, and returns the control frame that answers it.
    mutating func answer(_ proposal: [UInt8], ledger: any RelayLedger, nonce: [UInt8], counted: Int64) -> [UInt8] {
        period += 1
        let end = RelayedCircuit.now()
        defer { start = end }
        let seen = RelayedCircuit(tunnel: nonce, period: period, bytes: counted - acknowledged, start: start, end: end)
        switch ledger.answer(proposal, seen: seen) {
        case .countersigned(let receipt):
            acknowledged += ledger.relayedBytes(in: receipt)
            return TunnelWire.control(RelayWire.countersignedTag, receipt)
        case .refused(let reason):
            return TunnelWire.control(RelayWire.refusedTag, Array(reason.utf8))
        }
    }
}
