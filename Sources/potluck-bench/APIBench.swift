import ControlAPI
import Foundation
import Kademlia
import Logging
import NIOCore
import NIOPosix
import Node
import PotluckCrypto
import ServiceLifecycle
import Storage
#if canImport(Glibc)
import Glibc
#endif

/// `potluck-bench api`: `GET /v1/dht` through the HTTP control API (Hummingbird on the Unix
/// socket, a new connection per call from another process, as the CLI makes) beside the protocol
/// it replaced —
/// one JSON line each way on a Unix socket (NIO line decoder, blocking client that decodes the
/// answer as free-form JSON, as the old CLI did) — both answered by the same in-process node's
/// `ControlHandler.status()`, both clients decoding the whole answer. Issue 17's goal: at least
/// as fast.
func apiBench() async throws -> [BenchResult] {
    let root = makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let environment = try Environment(path: try directory(root + "/db"))
    var options = NodeOptions(dataDirectory: root)
    options.listen = [Endpoint(address: .v4(0x7f00_0001), port: 0)]
    options.useDefaultBootstrap = false
    options.servesJobs = false
    options.http = nil
    var logger = Logger(label: "potluck.bench") { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = .warning
    let (ready, sink) = AsyncStream.makeStream(of: Void.self)
    let service = DHTService(options: options, identity: SigningKey.generate(), persistence: try NodePersistence(environment: environment),
                             logger: logger) { _, _ in sink.yield() }
    let group = ServiceGroup(configuration: .init(services: [.init(service: service)], logger: logger))
    let node = Task { try await group.run() }
    defer { node.cancel() }
    for await _ in ready { break }
    let http = ControlClient(dataDirectory: root)
    let deadline = ContinuousClock.now + .seconds(30)
    while (try? await http.call(.dhtStatus)) == nil {  // until the socket is in place
        guard ContinuousClock.now < deadline else { throw BenchError("the node's control socket never answered") }
        try await Task.sleep(for: .milliseconds(20))
    }
    guard let handler = service.control else { throw BenchError("the node has no control handler") }
    let legacyPath = root + "/legacy.sock"
    let legacy = try await LineProtocolServer.start(at: legacyPath) { try? await handler.status() }
    defer { legacy.close() }

    // The calls come from another process, as the CLI's do: each round a fresh client process
    // alternates the two protocols, call by call, after a warm-up.
    var viaHTTP: [Double] = [], viaLines: [Double] = []
    for _ in 0..<5 {
        let client = Process()
        client.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        client.arguments = ["api-client", root, "500"]
        let output = Pipe()
        client.standardOutput = output
        try client.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        client.waitUntilExit()
        guard client.terminationStatus == 0 else { throw BenchError("the API client failed: \(text)") }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            let latencies = fields.dropFirst().compactMap { Double($0) }
            if fields.first == "http" { viaHTTP += latencies } else if fields.first == "lines" { viaLines += latencies }
        }
    }
    let rate = { (latencies: [Double]) in Double(latencies.count) / (latencies.reduce(0, +) / 1000) }
    var result = BenchResult(bench: "api", caseName: "status requests, one connection each (HTTP API vs JSON lines)", unit: "req/s",
                             potluck: rate(viaHTTP), reference: rate(viaLines))
    result.extra = [("potluck_p50_ms", percentile(viaHTTP, 0.5)), ("potluck_p99_ms", percentile(viaHTTP, 0.99)),
                    ("reference_p50_ms", percentile(viaLines, 0.5)), ("reference_p99_ms", percentile(viaLines, 0.99))]
    return [result]
}

/// The bench's client process: `count` calls of each protocol, alternating, after 100 of each to
/// warm up; prints `http MS…` and `lines MS…`.
func apiClient(_ arguments: [String]) async throws {
    guard arguments.count == 2, let count = Int(arguments[1]) else { throw BenchError("usage: api-client DIR COUNT") }
    let directory = arguments[0]
    let http = ControlClient(dataDirectory: directory)
    func timed(_ call: () async throws -> Void) async throws -> Double {
        let start = nowNanoseconds()
        try await call()
        return Double(nowNanoseconds() - start) / 1e6
    }
    var viaHTTP: [Double] = [], viaLines: [Double] = []
    for index in 0..<(100 + count) {
        let h = try await timed { _ = try await http.call(.dhtStatus) }
        let l = try await timed { try LineProtocolServer.call(directory + "/legacy.sock", #"{"method":"dht.status","params":{}}"#) }
        if index >= 100 {
            viaHTTP.append(h)
            viaLines.append(l)
        }
    }
    print("http " + viaHTTP.map { String($0) }.joined(separator: " "))
    print("lines " + viaLines.map { String($0) }.joined(separator: " "))
}

/// The control protocol Potluck used before the HTTP API (spec 0008 before issue 17): one
/// request line, one response line `{"ok":true,"result":…}`, on a Unix socket. Kept here only
/// as the API bench's reference.
struct LineProtocolServer {
    let channel: any Channel

    static func start(at path: String, status: @escaping @Sendable () async -> DHTStatus?) async throws -> LineProtocolServer {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineSplitter()))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        Task {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask {
                            try? await connection.executeThenClose { inbound, outbound in
                                for try await line in inbound {
                                    struct Request: Decodable { let method: String }
                                    struct Response: Encodable { let ok: Bool; let result: DHTStatus? }
                                    let request = try? JSONDecoder().decode(Request.self, from: Data(line.readableBytesView))
                                    let answer = request?.method == "dht.status" ? await status() : nil
                                    var bytes = try APICoding.encoder.encode(Response(ok: answer != nil, result: answer))
                                    bytes.append(UInt8(ascii: "\n"))
                                    try await outbound.write(ByteBuffer(bytes: bytes))
                                }
                            }
                        }
                    }
                }
            }
        }
        return LineProtocolServer(channel: server.channel)
    }

    func close() { channel.close(promise: nil) }

    /// The old blocking client: connect, write the line, read to the newline.
    static func call(_ path: String, _ line: String) throws {
        struct Response: Decodable { let ok: Bool; let result: JSONValue? }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket: \(errno)") }
        defer { Glibc.close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8))
            raw[path.utf8.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw BenchError("connect: \(errno)") }
        let request = Array((line + "\n").utf8)
        guard request.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == request.count else { throw BenchError("write failed") }
        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while !reply.contains(UInt8(ascii: "\n")) {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { throw BenchError("the line server closed without answering") }
            reply += chunk[..<count]
        }
        // As the old client did: the whole answer decoded, its result as free-form JSON.
        guard try JSONDecoder().decode(Response.self, from: Data(reply.prefix { $0 != UInt8(ascii: "\n") })).ok else {
            throw BenchError("the line server refused: \(String(decoding: reply, as: UTF8.self))")
        }
    }
}

/// Splits a byte stream into lines (without the `\n`).
private struct LineSplitter: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return .needMoreData }
        let line = buffer.readSlice(length: newline - buffer.readerIndex)!
        buffer.moveReaderIndex(forwardBy: 1)
        context.fireChannelRead(wrapInboundOut(line))
        return .continue
    }
}
