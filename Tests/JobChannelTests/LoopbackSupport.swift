import PotluckCrypto
@testable import JobChannel
import NIOCore
import Synchronization

/// A value shared between a test and a server handler.
final class Shared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ initial: Value) { value = Mutex(initial) }
    func update(_ body: (inout Value) -> Void) { value.withLock { body(&$0) } }
    var current: Value { value.withLock { $0 } }
}

/// Polls `condition` every 10 ms for at most `limit`.
func eventually(within limit: Duration = .seconds(30), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

/// Binds a server on 127.0.0.1, runs it while `body` runs, then closes it.
func withServer(
    identity: SigningKey, handshakeTimeout: Duration = .seconds(5), limits: JobChannelServer.Limits = .init(),
    handler: @escaping @Sendable (SecureConnection) async -> Void,
    _ body: (JobChannelServer) async throws -> Void
) async throws {
    var limits = limits
    limits.handshakeTimeout = handshakeTimeout
    let server = try await JobChannelServer.bind(host: "127.0.0.1", port: 0, identity: identity, limits: limits, handler: handler)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run() }
        do { try await body(server) } catch {
            await server.close()
            throw error
        }
        await server.close()
        try await group.waitForAll()
    }
}

/// A TCP relay on 127.0.0.1 in front of `upstreamPort` for one connection at a time: it records
/// what the client sends, and can flip one server→client byte or cut that direction short.
final class Relay: Sendable {
    let port: Int
    private let listener: NIOAsyncChannel<ByteTransport, Never>
    private let upstreamPort: Int
    private let flipServerByteAt: Int?
    private let cutServerAfter: Int?
    let clientBytes = Shared<[UInt8]>([])

    init(upstreamPort: Int, flipServerByteAt: Int? = nil, cutServerAfter: Int? = nil) async throws {
        listener = try await ByteTransport.listen(host: "127.0.0.1", port: 0)
        port = listener.channel.localAddress!.port!
        self.upstreamPort = upstreamPort
        self.flipServerByteAt = flipServerByteAt
        self.cutServerAfter = cutServerAfter
    }

    /// Relays connections until closed.
    func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            try await listener.executeThenClose { accepted in
                for try await client in accepted {
                    let upstream = try await ByteTransport.connect(host: "127.0.0.1", port: upstreamPort, timeout: .seconds(5))
                    group.addTask { await self.pump(from: client, to: upstream, record: true, flipAt: nil, cutAfter: nil) }
                    group.addTask { await self.pump(from: upstream, to: client, record: false, flipAt: self.flipServerByteAt, cutAfter: self.cutServerAfter) }
                }
            }
        }
    }

    func close() async { try? await listener.channel.close().get() }

    private func pump(from: ByteTransport, to: ByteTransport, record: Bool, flipAt: Int?, cutAfter: Int?) async {
        var offset = 0
        while let chunk = try? await from.read() {
            var bytes = Array(chunk.readableBytesView)
            if let flipAt, (offset..<offset + bytes.count).contains(flipAt) { bytes[flipAt - offset] ^= 0x40 }
            if let cutAfter, offset + bytes.count >= cutAfter {
                try? await to.write(Array(bytes[0..<(cutAfter - offset)])).get()
                break
            }
            if record { clientBytes.update { $0 += bytes } }
            offset += bytes.count
            guard (try? await to.write(bytes).get()) != nil else { break }
        }
        await to.close()
        await from.close()
    }
}
