// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import PotluckCrypto
import NIOCore

/// The unreachable lender's side of a relay (`spec/0021-reachability.md` §5): it holds a
/// listening session at a relay and, for each borrower the relay announces, dials the relay
/// back and serves the job channel over that connection as if the borrower had dialled it.
public enum RelayListener {
    /// Listens at `host:port` as `identity` until the relay closes the session, the task is
    /// cancelled, or `idleLimit` passes without a byte from the relay (it sends keep-alives).
    /// `onListening` runs once the relay accepted; `server` serves each circuit, trying for
    /// `punch` to move it to a punched connection (§6; `nil`: never).
    /// With `ledger`, it answers the relay's receipt proposals for the bytes it relayed (§5.5).
    public static func hold(
        host: String, port: Int, identity: SigningKey, server: JobChannelServer, timeout: Duration = .seconds(10),
        idleLimit: Duration = .seconds(75), punch: Duration? = HolePunch.defaultWindow, ledger: (any RelayLedger)? = nil,
        onListening: @Sendable () -> Void
    ) async throws(ChannelError) {
        let transport: ByteTransport
        do { transport = try await ByteTransport.connect(host: host, port: port, timeout: timeout) } catch {
            throw ChannelError(.io, "could not connect to the relay \(host):\(port): \(error)")
        }
        do {
            try await withTaskCancellationHandler {
                try await session(transport, host: host, port: port, identity: identity, server: server, timeout: timeout,
                                  idleLimit: idleLimit, punch: punch, ledger: ledger, onListening: onListening)
            } onCancel: {
                transport.abort()
            }
        } catch let error as ChannelError {
            await transport.close()
            throw error
        } catch {
            await transport.close()
            throw ChannelError(.io, "the relay \(host):\(port) dropped the session: \(error)")
        }
    }

    private static func session(
        _ transport: ByteTransport, host: String, port: Int, identity: SigningKey, server: JobChannelServer, timeout: Duration,
        idleLimit: Duration, punch: Duration?, ledger: (any RelayLedger)?, onListening: @Sendable () -> Void
    ) async throws {
        var reader = ByteReader(transport)
        try await transport.write(RelayWire.listenTag + identity.publicKey.bytes).get()
        let nonce = try await reader.read(32)
        try await transport.write(identity.sign(RelayWire.listenMessage(nonce: nonce, key: identity.publicKey)).bytes).get()
        let status = try await reader.read(1)[0]
        guard status == RelayWire.Status.spliced.rawValue else {
            throw ChannelError(.io, "the relay \(host):\(port) refused: \(RelayWire.Status(rawValue: status)?.reason ?? "status \(status)")")
        }
        onListening()
        // Circuits outlive the session: a job running through the relay finishes even if the
        // session drops, and `hold` returns once they have.
        let seen = SeenCircuits()
        let ended: any Error = await withDiscardingTaskGroup { group in
            var idle = transport.channel.eventLoop.scheduleTask(in: TimeAmount(idleLimit)) { transport.abort() }
            defer { idle.cancel() }
            do {
                while true {
                    let byte = try await reader.read(1)[0]
                    idle.cancel()
                    idle = transport.channel.eventLoop.scheduleTask(in: TimeAmount(idleLimit)) { transport.abort() }
                    if byte == RelayWire.proposalTag {
                        let circuit = RelayWire.circuit(try await reader.read(8))
                        let length = try await reader.read(2).reduce(0) { $0 << 8 | Int($1) }
                        guard length <= RelayWire.maxReceiptFrame else { throw ChannelError(.frameTooLarge, "a receipt proposal of \(length) bytes") }
                        let proposal = try await reader.read(length)
                        guard let ledger else { continue }
                        group.addTask {
                            let answer = await seen.circuit(circuit, within: timeout).map { ledger.answer(proposal, seen: $0) }
                                ?? .refused("this lender saw no circuit \(circuit) end")
                            switch answer {
                            case .countersigned(let receipt): _ = transport.write(RelayWire.sessionFrame(RelayWire.countersignedTag, receipt))
                            case .refused(let reason): _ = transport.write(RelayWire.sessionFrame(RelayWire.refusedTag, Array(reason.utf8)))
                            }
                        }
                        continue
                    }
                    guard byte == RelayWire.circuitTag else { continue }  // a keep-alive
                    let circuit = RelayWire.circuit(try await reader.read(8))
                    group.addTask {
                        let start = RelayedCircuit.now()
                        let bytes = try? await server.answer(relay: host, port: port, circuit: circuit, timeout: timeout, punch: punch)
                        await seen.ended(RelayedCircuit(circuit: circuit, bytes: bytes ?? 0, start: start, end: RelayedCircuit.now()))
                    }
                }
            } catch {
                return error
            }
        }
        throw ended
    }
}

/// The circuits a listening lender served, as it counted them, for the relay's receipt
/// proposals (§5.5); a proposal may arrive just before the lender's side of the circuit ends.
private actor SeenCircuits {
    private var ended: [UInt64: RelayedCircuit] = [:]
    private var waiting: [UInt64: [CheckedContinuation<RelayedCircuit?, Never>]] = [:]

    func ended(_ circuit: RelayedCircuit) {
        if ended.count >= 1024 { ended.removeAll() }
        ended[circuit.circuit] = circuit
        for waiter in waiting.removeValue(forKey: circuit.circuit) ?? [] { waiter.resume(returning: circuit) }
    }

    /// The circuit once it ended; `nil` if it did not end within `limit`.
    func circuit(_ id: UInt64, within limit: Duration) async -> RelayedCircuit? {
        if let circuit = ended[id] { return circuit }
        let timer = Task { [weak self] in
            try? await Task.sleep(for: limit)
            await self?.giveUp(id)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { waiting[id, default: []].append($0) }
    }

    private func giveUp(_ id: UInt64) {
        for waiter in waiting.removeValue(forKey: id) ?? [] { waiter.resume(returning: nil) }
    }
}
