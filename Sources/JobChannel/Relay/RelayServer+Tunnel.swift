// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import PotluckCrypto
import NIOCore
import NIOPosix
import Synchronization

extension RelayServer {
    /// A node on a network that blocks UDP proves its key; the relay binds a UDP socket for it
    /// on the address the node reached, and carries its datagrams both ways under a
    /// ``TunnelGate`` until either side closes (`spec/0021-reachability.md` §5.4). With
    /// `receipts` (the node opened with ``TunnelWire/receiptsTag``) it also proposes receipts
    /// for the datagrams carried, and takes the node's answers (§5.5).
    func tunnel(_ reader: inout ByteReader, receipts: Bool, accepted settle: @Sendable () -> Void) async throws {
        let transport = reader.transport
        guard let (key, nonce) = try await authenticate(&reader, domain: TunnelWire.domain),
              let session = await register(key, transport, in: \.tunnels, limit: limits.tunnels) else { return }
        defer { unregister(key, session, in: \.tunnels) }
        let origin = ContinuousClock.now
        let gate = SharedGate(TunnelGate(limits: limits.tunnel, now: .zero))
        let host = transport.channel.localAddress?.ipAddress ?? "0.0.0.0"
        let udp = try await DatagramBootstrap(group: transport.channel.eventLoop)
            .channelInitializer { [self] channel in
                channel.pipeline.addHandler(TunnelInbound(tcp: transport.channel, gate: gate, origin: origin, relay: self))
            }
            .bind(host: host, port: 0).get()
        defer { udp.close(promise: nil) }
        settle()
        try await transport.write([RelayWire.Status.spliced.rawValue] + WireEndpoint.encode(WireEndpoint(udp.localAddress))).get()

        let keepAlive = transport.channel.eventLoop.scheduleRepeatedTask(
            initialDelay: TimeAmount(limits.keepAliveInterval), delay: TimeAmount(limits.keepAliveInterval)
        ) { _ in _ = transport.write(TunnelWire.keepAlive) }
        defer { keepAlive.cancel() }
        let idleLimit = TimeAmount(limits.tunnelIdleLimit)
        var idle = transport.channel.eventLoop.scheduleTask(in: idleLimit) { transport.abort() }
        defer { idle.cancel() }
        let proposer = receipts ? proposeReceipts(to: key, nonce: nonce, carried: gate, on: transport) : nil
        defer { proposer?.cancel() }
        var decoder = TunnelWire.Decoder(receipts: receipts)
        decoder.push(reader.buffered)
        repeat {
            while let frame = try decoder.next() {
                switch frame {
                case .datagram(let bytes, let destination):
                    guard let address = destination.socketAddress else { continue }
                    let permitted = gate.lock.withLock { $0.send(to: destination, now: ContinuousClock.now - origin) }
                    guard countTunnelled(permitted, bytes: bytes.count) else { continue }
                    gate.carried.add(Int64(bytes.count), ordering: .relaxed)
                    udp.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: ByteBuffer(bytes: bytes)), promise: nil)
                case .control(RelayWire.countersignedTag, let receipt):
                    ledger?.answered(.countersigned(receipt), by: key)
                case .control(RelayWire.refusedTag, let reason):
                    ledger?.answered(.refused(String(decoding: reason, as: UTF8.self)), by: key)
                case .control(let tag, _):
                    throw ChannelError(.io, "a tunnel control frame with the unknown tag \(tag)")
                case .keepAlive:
                    continue
                }
            }
            guard let chunk = try await transport.read() else { break }
            idle.cancel()
            idle = transport.channel.eventLoop.scheduleTask(in: idleLimit) { transport.abort() }
            decoder.push(chunk.readableBytesView)
        } while true
        await transport.close()
    }

    /// Every ``Limits/tunnelReceiptInterval`` in which datagrams passed, proposes to the node
    /// `key` a receipt for their bytes, both ways (§5.5); periods are numbered from 1 on the
    /// tunnel opened with `nonce`, and one ends when its proposal is sent. `nil` without a ledger.
    private func proposeReceipts(to key: PublicKey, nonce: [UInt8], carried: SharedGate, on transport: ByteTransport) -> Task<Void, Never>? {
        guard let ledger else { return nil }
        let interval = limits.tunnelReceiptInterval
        return Task {
            var period: UInt64 = 0
            var start = RelayedCircuit.now()
            while (try? await Task.sleep(for: interval)) != nil {
                let bytes = carried.carried.exchange(0, ordering: .relaxed)
                guard bytes > 0 else { continue }
                let end = RelayedCircuit.now()
                let seen = RelayedCircuit(tunnel: nonce, period: period + 1, bytes: bytes, start: start, end: end)
                guard let proposal = ledger.proposal(for: seen, lender: key) else { continue }
                period += 1
                start = end
                _ = transport.write(TunnelWire.control(RelayWire.proposalTag, proposal))
            }
        }
    }

    /// Counts a datagram of `bytes` offered to a tunnel; returns whether it may pass (`passed`
    /// and within the day's budget).
    @discardableResult
    func countTunnelled(_ passed: Bool, bytes: Int = 0) -> Bool {
        state.withLock { state in
            let allowed = passed && state.spend(Int64(bytes), budget: limits.bytesPerDay)
            if allowed { state.statistics.datagramsTunnelled += 1 } else { state.statistics.datagramsDropped += 1 }
            return allowed
        }
    }
}

/// Passes datagrams that reach a tunnel's UDP socket to its node, framed, if the gate lets them
/// in and the node's connection is not backed up (then they are dropped, as UDP may).
private final class TunnelInbound: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let tcp: any Channel
    let gate: SharedGate
    let origin: ContinuousClock.Instant
    let relay: RelayServer

    init(tcp: any Channel, gate: SharedGate, origin: ContinuousClock.Instant, relay: RelayServer) {
        self.tcp = tcp
        self.gate = gate
        self.origin = origin
        self.relay = relay
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard let source = WireEndpoint(envelope.remoteAddress),
              gate.lock.withLock({ $0.lets(in: source, now: ContinuousClock.now - origin) }), tcp.isWritable,
              let frame = TunnelWire.frame(Array(envelope.data.readableBytesView), endpoint: source) else {
            relay.countTunnelled(false)
            return
        }
        guard relay.countTunnelled(true, bytes: envelope.data.readableBytes) else { return }  // the day's budget is spent
        gate.carried.add(Int64(envelope.data.readableBytes), ordering: .relaxed)
        tcp.writeAndFlush(ByteBuffer(bytes: frame), promise: nil)
    }
}

/// A tunnel's gate, shared by its two directions, and the bytes of the datagrams it carried
/// since the last receipt proposal (§5.5).
private final class SharedGate: Sendable {
    let lock: Mutex<TunnelGate>
    let carried = Atomic<Int64>(0)
    init(_ gate: TunnelGate) { lock = Mutex(gate) }
}
