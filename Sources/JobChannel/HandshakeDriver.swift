// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import NIOCore
import Synchronization

/// Runs a ``Handshake`` over a ``ByteTransport`` under a deadline: the only I/O of the
/// handshake. On any failure the transport is closed.
enum HandshakeDriver {
    /// `received` holds bytes the peer already sent (read while telling a relay preamble apart);
    /// `relay` names the relay the transport goes through, if any.
    static func run(
        _ handshake: inout Handshake, over transport: ByteTransport, timeout: Duration, received: [UInt8] = [], relay: String? = nil
    ) async throws(ChannelError) -> SecureConnection {
        let expired = ExpiryFlag()
        let timer = transport.channel.eventLoop.scheduleTask(in: TimeAmount(max(timeout, .zero))) {
            expired.set()
            transport.abort()
        }
        defer { timer.cancel() }
        do {
            var output = handshake.start()
            var early = received
            while true {
                if !output.isEmpty { try await transport.write(output).get() }
                let bytes: [UInt8]
                if !early.isEmpty {
                    bytes = early
                    early = []
                } else {
                    guard let chunk = try await transport.read() else {
                        throw ChannelError(.truncated, "the peer closed the connection during the handshake")
                    }
                    bytes = Array(chunk.readableBytesView)
                }
                let step = try handshake.receive(bytes)
                output = step.output
                if let session = step.session {
                    if !output.isEmpty { try await transport.write(output).get() }
                    return SecureConnection(session: session, transport: transport, relay: relay)
                }
            }
        } catch {
            await transport.close()
            if expired.isSet {
                throw ChannelError(.timedOut, "the handshake with \(transport.remoteAddress) did not finish within \(timeout)")
            }
            if let error = error as? ChannelError { throw error }
            throw ChannelError(.io, "the handshake with \(transport.remoteAddress) failed: \(error)")
        }
    }
}

/// A flag set once by a timer on another thread.
final class ExpiryFlag: Sendable {
    private let flag = Mutex(false)
    func set() { flag.withLock { $0 = true } }
    var isSet: Bool { flag.withLock { $0 } }
}
