import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking client for a node's control socket: connect, send one request line, read one
/// response line. The CLI uses it; it needs no event loop.
public struct ControlClient {
    public let socketPath: String
    public var timeout: Duration

    public init(socketPath: String, timeout: Duration = .seconds(60)) {
        self.socketPath = socketPath
        self.timeout = timeout
    }

    /// Sends `request` and waits for the response. Throws ``ControlClientError`` with advice when
    /// no node is listening.
    public func send(_ request: ControlRequest) throws(ControlClientError) -> ControlResponse {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ControlClientError("cannot create a socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw ControlClientError("the control socket path \(socketPath) is too long; use a shorter --data-dir")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        var seconds = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &seconds, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            throw ControlClientError("no node is running for this data directory (\(socketPath)); start one with 'potluck node'")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard var line = try? encoder.encode(request) else { throw ControlClientError("cannot encode the request") }
        line.append(UInt8(ascii: "\n"))
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else { throw ControlClientError("the node closed the control connection") }
        let reply = try readLine(fd)
        guard let response = try? JSONDecoder().decode(ControlResponse.self, from: Data(reply)) else {
            throw ControlClientError("the node sent a response that is not valid JSON")
        }
        return response
    }

    private func readLine(_ fd: Int32) throws(ControlClientError) -> [UInt8] {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while buffer.count < ControlSocket.maxLineLength {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                throw ControlClientError(count == 0 ? "the node closed the connection without answering"
                                                    : "no answer from the node within \(timeout)")
            }
            buffer += chunk[..<count]
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) { return Array(buffer[..<newline]) }
        }
        throw ControlClientError("the node's answer is longer than \(ControlSocket.maxLineLength) bytes")
    }
}

public struct ControlClientError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
