// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import PotluckCrypto
import NIOCore

/// The borrower's side of the job channel (`spec/0015-job-channel.md` §3).
public enum JobChannelClient {
    /// Connects to `host:port` and runs the handshake as `identity`, proving that the server
    /// holds `server`'s key (from its signed offer). Throws `wrongPeer` when the server is
    /// someone else, `timedOut` when the TCP connect and handshake together take longer than
    /// `timeout`, `io` when the connection cannot be made. With `source`, the connection leaves
    /// from that local address (a machine with several).
    public static func connect(
        host: String, port: Int, identity: SigningKey, expecting server: PublicKey,
        timeout: Duration = .seconds(10), source: String? = nil
    ) async throws(ChannelError) -> SecureConnection {
        var handshake = Handshake.client(identity: identity, expecting: server)
        return try await connect(host: host, port: port, handshake: &handshake, timeout: timeout, source: source)
    }

    /// Connects to the lender `server` through the relay at `host:port` (`spec/0021` §5): asks
    /// the relay for the lender, then runs the same handshake end to end with the lender, so
    /// the relay only ever sees ciphertext. Throws `io` with the relay's reason when it refuses.
    /// With `punch`, the connection then tries for that long, in the background, to move to a
    /// direct one punched through both routers (§6); the caller never waits for it.
    public static func connect(
        relay host: String, port: Int, identity: SigningKey, expecting server: PublicKey, timeout: Duration = .seconds(15),
        punch: Duration? = HolePunch.defaultWindow
    ) async throws(ChannelError) -> SecureConnection {
        let clock = ContinuousClock()
        let start = clock.now
        let transport: ByteTransport
        do { transport = try await ByteTransport.connect(host: host, port: port, timeout: timeout, shareable: true) } catch {
            throw ChannelError(.io, "could not connect to the relay \(host):\(port): \(error)")
        }
        let timer = transport.channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) { transport.abort() }
        let status: UInt8
        var reader = ByteReader(transport)
        var rendezvous: RelayWire.Rendezvous?
        do {
            try await transport.write(RelayWire.connect(server, local: WireEndpoint(transport.localAddress))).get()
            status = try await reader.read(1)[0]
            if status == RelayWire.Status.spliced.rawValue { rendezvous = RelayWire.Rendezvous(try await reader.read(RelayWire.Rendezvous.size)) }
        } catch {
            timer.cancel()
            await transport.close()
            throw ChannelError(.io, "the relay \(host):\(port) closed the connection: \(error)")
        }
        timer.cancel()
        guard let rendezvous else {
            await transport.close()
            throw ChannelError(.io, "the relay \(host):\(port) could not connect: \(RelayWire.Status(rawValue: status)?.reason ?? "status \(status)")")
        }
        // The punch starts now, as the lender's does, while the handshake crosses the relay.
        let punching = punch.flatMap { HolePunch.start(from: transport.localAddress, toward: rendezvous, within: $0) }
        var handshake = Handshake.client(identity: identity, expecting: server)
        do {
            let connection = try await HandshakeDriver.run(&handshake, over: transport, timeout: timeout - (clock.now - start),
                                                           received: reader.buffered, relay: "\(host):\(port)")
            if let punching { connection.adopt(punching) }
            return connection
        } catch {
            punching?.cancel()
            throw error
        }
    }

    /// The same with a prepared handshake (test vectors, fixed ephemeral keys).
    static func connect(host: String, port: Int, handshake: inout Handshake, timeout: Duration, source: String? = nil)
        async throws(ChannelError) -> SecureConnection {
        let clock = ContinuousClock()
        let start = clock.now
        let transport: ByteTransport
        do {
            transport = try await ByteTransport.connect(host: host, port: port, timeout: timeout, source: source)
        } catch let error as NIOCore.ChannelError {
            guard case .connectTimeout = error else { throw ChannelError(.io, "could not connect to \(host):\(port): \(error)") }
            throw ChannelError(.timedOut, "connecting to \(host):\(port) took longer than \(timeout)")
        } catch {
            throw ChannelError(.io, "could not connect to \(host):\(port): \(error)")
        }
        let remaining = timeout - (clock.now - start)
        return try await HandshakeDriver.run(&handshake, over: transport, timeout: remaining)
    }
}
