import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// An HTTP/1.1 client of a node's control API (`spec/0008-control-api.md`): the CLI's only way to
/// talk to a running node, over its Unix socket (no token: the socket's mode is the lock) or over
/// its localhost port (with the per-user token). One connection per call.
public struct ControlClient: Sendable {
    public enum Address: Sendable, CustomStringConvertible {
        case unixSocket(path: String)
        case tcp(host: String, port: Int)

        public var description: String {
            switch self {
            case .unixSocket(let path): path
            case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            }
        }
    }

    public let address: Address
    /// Sent as `Authorization: Bearer TOKEN` (the localhost port refuses calls without it).
    public var token: String?
    public var timeout: Duration
    /// Answers are read up to this many bytes.
    public static let maxAnswerLength = 16 << 20

    public init(socketPath: String, timeout: Duration = .seconds(60)) {
        self.init(address: .unixSocket(path: socketPath), timeout: timeout)
    }

    public init(address: Address, token: String? = nil, timeout: Duration = .seconds(60)) {
        self.address = address
        self.token = token
        self.timeout = timeout
    }

    /// Calls `route` and decodes its answer; a failure answer becomes a ``ControlClientError``
    /// carrying the node's own sentence.
    public func call<Answer>(_ route: APIRoute<Answer>) async throws(ControlClientError) -> Answer {
        let answer = try await exchange(route.verb, route.path, body: route.body)
        guard (200..<300).contains(answer.status) else {
            if let error = try? APICoding.decoder.decode(APIError.self, from: Data(answer.body)) {
                throw ControlClientError(error.error, status: answer.status)
            }
            throw ControlClientError("the node answered HTTP \(answer.status) with no explanation", status: answer.status)
        }
        do { return try APICoding.decoder.decode(Answer.self, from: Data(answer.body)) } catch {
            throw ControlClientError("the node's answer to \(route.verb.rawValue) \(route.path) is not a valid \(Answer.self): \(error)")
        }
    }

    /// One raw exchange: what tests use to send what the typed calls never would.
    public func exchange(_ verb: HTTPVerb, _ path: String, body: [UInt8]? = nil, headers: [(String, String)] = [])
        async throws(ControlClientError) -> (status: Int, body: [UInt8])
    {
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: verb.rawValue), uri: path)
        head.headers.add(name: "Host", value: "localhost")
        head.headers.add(name: "Connection", value: "close")
        head.headers.add(name: "Content-Length", value: String(body?.count ?? 0))
        if body != nil { head.headers.add(name: "Content-Type", value: "application/json") }
        if let token { head.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { head.headers.replaceOrAdd(name: name, value: value) }
        // Futures, not an async channel: one connection per call, and every hop between the
        // event loop and this task costs (the API bench measured a third of a call's time).
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let answer = loop.makePromise(of: (status: Int, body: [UInt8]).self)
        let bootstrap = ClientBootstrap(group: loop).connectTimeout(.seconds(10)).channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                try channel.pipeline.syncOperations.addHandler(AnswerCollector(answer: answer))
            }
        }
        do {
            let channel: any Channel
            switch address {
            case .unixSocket(let path):
                guard path.utf8.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path) else {
                    throw ControlClientError("the control socket path \(path) is too long; use a shorter --data-dir")
                }
                channel = try await bootstrap.connect(unixDomainSocketPath: path).get()
            case .tcp(let host, let port):
                channel = try await bootstrap.connect(host: host, port: port).get()
            }
            let deadline = loop.scheduleTask(in: .nanoseconds(timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)) {
                answer.fail(ControlClientError("no answer from the node within \(timeout)"))
                channel.close(promise: nil)
            }
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil) }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            defer { deadline.cancel() }
            return try await answer.futureResult.get()
        } catch let error as ControlClientError {
            answer.fail(error)
            throw error
        } catch {
            answer.fail(error)
            throw ControlClientError(describe(error))
        }
    }

    /// A connection failure in one sentence: no node, or not this one.
    private func describe(_ error: any Error) -> String {
        let text = "\(error)"
        // No socket file, or a stale one nobody listens on.
        let nobody = (error as? IOError).map { [ENOENT, ECONNREFUSED].contains($0.errnoCode) } ?? false
        switch address {
        case .unixSocket(let path) where nobody:
            return "no node is running for this data directory (\(path)); start one with 'potluck node'"
        case .unixSocket(let path):
            return "cannot reach the node at \(path): \(text)"
        case .tcp:
            return "nothing answers the control API at \(address): \(text)"
        }
    }
}

/// Gathers one HTTP answer and closes the connection.
private final class AnswerCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    let answer: EventLoopPromise<(status: Int, body: [UInt8])>
    private var status = 0
    private var body: [UInt8] = []

    init(answer: EventLoopPromise<(status: Int, body: [UInt8])>) { self.answer = answer }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): status = Int(head.status.code)
        case .body(let buffer):
            guard body.count + buffer.readableBytes <= ControlClient.maxAnswerLength else {
                answer.fail(ControlClientError("the node's answer is longer than \(ControlClient.maxAnswerLength) bytes"))
                context.close(promise: nil)
                return
            }
            body += buffer.readableBytesView
        case .end:
            answer.succeed((status, body))
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        answer.fail(ControlClientError("the node closed the connection without answering"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        answer.fail(error)
        context.close(promise: nil)
    }
}

/// A control call that failed: the node's own sentence, or why the node could not be reached.
public struct ControlClientError: Error, CustomStringConvertible {
    public let description: String
    /// The HTTP status, when the node answered.
    public let status: Int?

    public init(_ description: String, status: Int? = nil) {
        self.description = description
        self.status = status
    }
}

/// Where a node's control socket lives in its data directory.
public enum ControlSocket {
    public static func path(inDataDirectory directory: String) -> String { directory + "/control.sock" }
}

extension ControlClient {
    /// A client of the node running on `dataDirectory`, through its Unix socket.
    public init(dataDirectory: String, timeout: Duration = .seconds(60)) {
        self.init(socketPath: ControlSocket.path(inDataDirectory: dataDirectory), timeout: timeout)
    }
}
