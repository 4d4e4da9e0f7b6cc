import Foundation
import Logging
import NIOCore
import NIOPosix

/// Serves a node's local CLI over a Unix stream socket in its data directory
/// (`spec/0008-control-api.md`): newline-delimited JSON, one request and one response per line.
///
/// The socket file has mode 0600 from before anyone could reach it (it is bound in a private
/// directory, then renamed into the data directory), so only its owner can drive the node.
public struct ControlServer: Sendable {
    public typealias Handler = @Sendable (ControlRequest) async -> ControlResponse

    let socketPath: String
    let handler: Handler
    let logger: Logger
    /// Called once the socket is in place: the node answers from then on.
    let onListening: @Sendable () -> Void

    public init(socketPath: String, logger: Logger, onListening: @escaping @Sendable () -> Void = {}, handler: @escaping Handler) {
        self.socketPath = socketPath
        self.logger = logger
        self.onListening = onListening
        self.handler = handler
    }

    /// Binds the socket and serves until the task is cancelled.
    public func run(group: any EventLoopGroup) async throws {
        // The socket is bound in a fresh 0700 directory, made 0600, then renamed into place:
        // no one else can reach it before its mode is set, and the process-wide umask is never
        // touched (the bind is asynchronous; other threads create files meanwhile).
        let directory = (socketPath as NSString).deletingLastPathComponent
        // `.cXXXXXX/s` is shorter than `control.sock`: the staged path fits wherever the final one does.
        var template = Array(((directory.isEmpty ? "." : directory) + "/.cXXXXXX").utf8CString)
        guard let staging = mkdtemp(&template).map({ String(cString: $0) }) else {
            throw NodeError("cannot create a private directory beside \(socketPath): \(String(cString: strerror(errno)))")
        }
        let staged = staging + "/s"
        let server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
        do {
            server = try await ServerBootstrap(group: group)
                .bind(unixDomainSocketPath: staged, cleanupExistingSocketFile: true) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(LineDecoder(maxLength: ControlSocket.maxLineLength)))
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            rmdir(staging)
            throw error
        }
        guard chmod(staged, 0o600) == 0, rename(staged, socketPath) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(staged)
            rmdir(staging)
            try? await server.channel.close()
            throw NodeError("cannot put the control socket at \(socketPath): \(reason)")
        }
        rmdir(staging)
        defer { unlink(socketPath) }
        onListening()
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { connections in
                for try await connection in connections {
                    group.addTask { await self.serve(connection) }
                }
            }
        }
    }

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                for try await line in inbound {
                    let response: ControlResponse
                    if let request = try? JSONDecoder().decode(ControlRequest.self, from: Data(line.readableBytesView)) {
                        response = await handler(request)
                    } else {
                        response = .failure("the request is not a JSON object with 'method' and 'params'")
                    }
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                    var bytes = (try? encoder.encode(response)) ?? Data(#"{"ok":false,"error":"internal encoding failure"}"#.utf8)
                    bytes.append(UInt8(ascii: "\n"))
                    try await outbound.write(ByteBuffer(bytes: bytes))
                }
            }
        } catch {
            logger.debug("control connection closed: \(error)")
        }
    }
}

/// Splits a byte stream into lines (without the `\n`); a line longer than `maxLength` closes the
/// connection with an error instead of buffering without bound.
struct LineDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let maxLength: Int

    struct LineTooLong: Error {}

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > maxLength { throw LineTooLong() }
            return .needMoreData
        }
        let length = newline - buffer.readerIndex
        let line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        context.fireChannelRead(wrapInboundOut(line))
        return .continue
    }
}
