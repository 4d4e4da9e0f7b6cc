// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import PotluckCrypto
import NIOCore

/// A node's side of a datagram tunnel (`spec/0021-reachability.md` §5.4): on a network that
/// blocks UDP, the node's DHT datagrams travel over one TCP connection to a relay, which sends
/// them from its own UDP socket (``relayed``) and passes back the replies.
public final class DatagramTunnel: Sendable {
    /// The relay, `HOST:PORT`.
    public let relay: String
    /// The relay's UDP endpoint for this node: where others see its datagrams come from.
    public let relayed: WireEndpoint?
    private let transport: ByteTransport
    private let early: [UInt8]

    private init(relay: String, relayed: WireEndpoint?, transport: ByteTransport, early: [UInt8]) {
        self.relay = relay
        self.relayed = relayed
        self.transport = transport
        self.early = early
    }

    /// Opens a tunnel at the relay `host:port` as `identity`.
    public static func open(host: String, port: Int, identity: SigningKey, timeout: Duration = .seconds(10)) async throws(ChannelError) -> DatagramTunnel {
        let relay = WireEndpoint(host: host, port: port)?.description ?? "\(host):\(port)"
        let transport: ByteTransport
        do { transport = try await ByteTransport.connect(host: host, port: port, timeout: timeout) } catch {
            throw ChannelError(.io, "could not connect to the relay \(relay): \(error)")
        }
        let deadline = transport.channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) { transport.abort() }
        defer { deadline.cancel() }
        do {
            var reader = ByteReader(transport)
            try await transport.write(TunnelWire.tag + identity.publicKey.bytes).get()
            let nonce = try await reader.read(32)
            try await transport.write(identity.sign(TunnelWire.openMessage(nonce: nonce, key: identity.publicKey.bytes)).bytes).get()
            let status = try await reader.read(1)[0]
            guard status == RelayWire.Status.spliced.rawValue else {
                await transport.close()
                throw ChannelError(.io, "the relay \(relay) refused a tunnel: \(RelayWire.Status(rawValue: status)?.reason ?? "status \(status)")")
            }
            let relayed = WireEndpoint(try await reader.read(RelayWire.endpointSize))
            return DatagramTunnel(relay: relay, relayed: relayed, transport: transport, early: reader.buffered)
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
        for (bytes, destination) in datagrams {
            if let frame = TunnelWire.frame(bytes, endpoint: destination) { framed += frame } else { refused += 1 }
        }
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
        var decoder = TunnelWire.Decoder()
        decoder.push(early)
        do {
            try await withTaskCancellationHandler {
                while true {
                    while let frame = try decoder.next() {
                        if case .datagram(let bytes, let source) = frame { received(bytes, source) }
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
