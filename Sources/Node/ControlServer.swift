import ControlAPI
import Foundation
import Hummingbird
import Logging
import NIOCore

/// Serves the control API (`spec/0008-control-api.md`) over HTTP/1.1 with Hummingbird: on a Unix
/// socket in the data directory, which only its owner can open, and optionally on a localhost
/// TCP port, where every call must carry the per-user token.
public struct ControlServer: Sendable {
    let handler: ControlHandler
    let logger: Logger
    /// Bodies are read up to this many bytes (an offer is a few hundred; a job file path less).
    static let maxBodyLength = 1 << 20

    /// Binds `socketPath` and serves until the task is cancelled; `onListening` runs once the
    /// socket is in place.
    ///
    /// The socket is bound in a fresh 0700 directory, made 0600, then renamed into place: no one
    /// else can reach it before its mode is set, and the process-wide umask is never touched (the
    /// bind is asynchronous; other threads create files meanwhile).
    func runUnixSocket(at socketPath: String, group: any EventLoopGroup, onListening: @escaping @Sendable () -> Void) async throws {
        let directory = (socketPath as NSString).deletingLastPathComponent
        // `.cXXXXXX/s` is shorter than `control.sock`: the staged path fits wherever the final one does.
        var template = Array(((directory.isEmpty ? "." : directory) + "/.cXXXXXX").utf8CString)
        guard let staging = mkdtemp(&template).map({ String(cString: $0) }) else {
            throw NodeError("cannot create a private directory beside \(socketPath): \(String(cString: strerror(errno)))")
        }
        let staged = staging + "/s"
        defer {
            unlink(staged)
            rmdir(staging)
            unlink(socketPath)
        }
        let application = Application(
            router: Self.router(handler, token: nil), configuration: .init(address: .unixDomainSocket(path: staged)),
            onServerRunning: { [logger] _ in
                guard chmod(staged, 0o600) == 0, rename(staged, socketPath) == 0 else {
                    logger.error("cannot put the control socket at \(socketPath): \(String(cString: strerror(errno)))")
                    return
                }
                rmdir(staging)
                onListening()
            },
            eventLoopGroupProvider: .shared(group), logger: Self.quiet(logger))
        try await application.runService()
    }

    /// Serves the API on `host:port` (a localhost address), each call with `token`; `onListening`
    /// gets the bound port.
    func runTCP(host: String, port: Int, token: String, group: any EventLoopGroup, onListening: @escaping @Sendable (Int) -> Void) async throws {
        let application = Application(
            router: Self.router(handler, token: token), configuration: .init(address: .hostname(host, port: port)),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? port) },
            eventLoopGroupProvider: .shared(group), logger: Self.quiet(logger))
        try await application.runService()
    }

    /// Hummingbird's own lines would repeat what the node logs (start-up), or report as errors
    /// what is a normal stop for the node (a cancelled server: "Waiting on child channel:
    /// CancellationError()"); failures to bind reach the node as thrown errors.
    static func quiet(_ logger: Logger) -> Logger {
        var logger = logger
        logger.logLevel = .critical
        return logger
    }

    /// Every route of the API (`spec/0008-control-api.md` §3), behind one error shape and, on a
    /// TCP port, the token check.
    static func router(_ handler: ControlHandler, token: String?) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: APIErrorMiddleware())
        if let token { router.add(middleware: TokenMiddleware(token: token)) }
        router.get(RouterPath(APIPath.node)) { _, _ in try answer(await handler.info()) }
        router.get(RouterPath(APIPath.dht)) { _, _ in try answer(try await handler.status()) }
        router.post(RouterPath(APIPath.ping)) { request, _ in try answer(try await handler.ping(try await decode(PingRequest.self, request))) }
        router.post(RouterPath(APIPath.lookup)) { request, _ in try answer(try await handler.lookup(try await decode(LookupRequest.self, request))) }
        router.post(RouterPath(APIPath.items)) { request, _ in try answer(try await handler.put(try await decode(PutRequest.self, request))) }
        router.get(RouterPath(APIPath.items + "/:target")) { request, context in
            try answer(try await handler.item(target: try context.parameters.require("target"), salt: request.uri.queryParameters.get("salt")))
        }
        router.put(RouterPath(APIPath.offer)) { request, _ in try answer(try await handler.publishOffer(try await decode(OfferPublishRequest.self, request))) }
        router.delete(RouterPath(APIPath.offer)) { _, _ in try answer(try await handler.withdrawOffer()) }
        router.get(RouterPath(APIPath.offers)) { request, _ in
            let query = request.uri.queryParameters
            let cores = query.get("cores").map { Int($0) } ?? 0
            guard let cores, cores >= 0 else { throw APIError.badRequest("'cores' must be a whole number of cores, 0 or more") }
            return try answer(try await handler.listOffers(runtime: query.get("runtime") ?? "wasm32-wasi", minimumCores: cores))
        }
        router.post(RouterPath(APIPath.receiptsPublish)) { _, _ in try answer(try await handler.publishReceipts()) }
        router.post(RouterPath(APIPath.receiptsSync)) { request, _ in
            try answer(try await handler.syncReceipts(try await decode(ReceiptsSyncRequest.self, request)))
        }
        router.get(RouterPath(APIPath.runningJobs)) { _, _ in try answer(await handler.runningJobs()) }
        router.post(RouterPath(APIPath.batches)) { request, _ in try answer(try handler.submitBatch(try await decode(BatchSubmitRequest.self, request))) }
        router.get(RouterPath(APIPath.batches)) { _, _ in try answer(try handler.batches()) }
        router.get(RouterPath(APIPath.batches + "/:id")) { _, context in try answer(try handler.batch(try context.parameters.require("id"))) }
        router.post(RouterPath(APIPath.batches + "/:id/cancel")) { _, context in try answer(try handler.cancelBatch(try context.parameters.require("id"))) }
        router.get(RouterPath(APIPath.lending)) { _, _ in try answer(handler.lending()) }
        router.put(RouterPath(APIPath.lendingPaused)) { request, _ in
            try answer(try await handler.pauseLending(try await decode(PauseRequest.self, request)))
        }
        router.put(RouterPath(APIPath.lendingPolicy)) { request, _ in
            try answer(try await handler.updatePolicy(try await decode(PolicyUpdate.self, request)))
        }
        router.get(RouterPath(APIPath.jobHistory)) { _, _ in try answer(handler.jobHistory()) }
        router.get(RouterPath(APIPath.trust)) { _, _ in try answer(handler.trust()) }
        router.get(RouterPath(APIPath.events)) { _, _ in
            Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
                     body: ResponseBody { writer in try await Self.streamSnapshots(handler, to: &writer) })
        }
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                     body: .init(byteBuffer: ByteBuffer(string: DashboardPage.html)))
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: await handler.metrics())))
        }
        return router
    }

    /// `snapshot` events every 2 s for an hour at most (the browser's EventSource reconnects),
    /// until the client goes away or the node stops.
    static func streamSnapshots(_ handler: ControlHandler, to writer: inout any ResponseBodyWriter) async throws {
        for _ in 0..<1800 {
            guard let dht = try? await handler.status() else { break }
            let snapshot = NodeSnapshot(node: await handler.info(), dht: dht, running: await handler.runningJobs(), lending: handler.lending())
            var event = Array("event: snapshot\ndata: ".utf8)
            event += try APICoding.encoder.encode(snapshot)
            event += Array("\n\n".utf8)
            try await writer.write(ByteBuffer(bytes: event))
            try await Task.sleep(for: .seconds(2))
        }
        try await writer.finish(nil)
    }

    /// The request's JSON body as `T`, or a 400 that says what is wrong with it.
    static func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        var request = request
        let body = try await request.collectBody(upTo: maxBodyLength)
        do { return try APICoding.decoder.decode(T.self, from: Data(body.readableBytesView)) } catch let error as DecodingError {
            throw APIError.badRequest("the body is not a valid \(T.self): \(explain(error))")
        }
    }

    static func explain(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, _): "'\(key.stringValue)' is missing"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            "'\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type"
        case .dataCorrupted: "it is not JSON"
        @unknown default: "\(error)"
        }
    }

    static func answer(_ value: some Encodable) throws -> Response {
        let body = try APICoding.encoder.encode(value)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Turns every failure into the API's one error shape (``APIError``), whoever threw it.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return Self.response(error)
        } catch let error as HTTPError {
            let message = error.status == .notFound
                ? "no endpoint \(request.method) \(request.uri.path); see spec/0008-control-api.md"
                : error.body ?? error.status.reasonPhrase
            return Self.response(APIError(error.status.code, message))
        } catch {
            return Self.response(APIError(500, "\(error)"))
        }
    }

    static func response(_ error: APIError) -> Response {
        let body = (try? APICoding.encoder.encode(error)) ?? Data(#"{"error":"internal encoding failure","status":500}"#.utf8)
        return Response(status: .init(code: error.status), headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// The localhost port's lock: every call carries the per-user token, as `Authorization: Bearer`
/// or (for the dashboard's first page load) `?token=`.
struct TokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The page itself holds nothing secret; everything it shows comes through the API.
        if request.method == .get && request.uri.path == "/" { return try await next(request, context) }
        let header = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        guard let given = header ?? request.uri.queryParameters.get("token"), APIToken.matches(given, token) else {
            throw APIError(401, "this port needs the node's token: run 'potluck dashboard --print-url', or send 'Authorization: Bearer' with DATA_DIR/api.token")
        }
        return try await next(request, context)
    }
}
