import Dispatch
import Kademlia
#if canImport(Glibc)
import Glibc
#endif

/// Turns `HOST:PORT` text — a name (`router.example.org:6891`), a dotted quad or `[IPv6]:PORT` —
/// into endpoints, through the system resolver (`getaddrinfo`, so `/etc/hosts` and DNS alike).
public enum HostResolver {
    /// The endpoints of `text`, or why there are none, in words. Runs off the async pool:
    /// `getaddrinfo` blocks for as long as DNS takes.
    public static func resolve(_ text: String, family: Family = .any) async -> Result<[Endpoint], NodeError> {
        if let endpoint = Endpoint(text) { return .success([endpoint]) }
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: resolveBlocking(text, family: family)) }
        }
    }

    /// The endpoints of every text in `texts` that resolves, in order, without duplicates.
    public static func resolveAll(_ texts: [String], family: Family = .any) async -> [Endpoint] {
        var endpoints: [Endpoint] = []
        for text in texts {
            for endpoint in (try? await resolve(text, family: family).get()) ?? [] where !endpoints.contains(endpoint) {
                endpoints.append(endpoint)
            }
        }
        return endpoints
    }

    public enum Family: Sendable { case any, v4 }

    /// Whether `text` has the shape `HOST:PORT` (a name or an address), without resolving it.
    public static func isHostAndPort(_ text: String) -> Bool { Endpoint(text) != nil || split(text) != nil }

    /// A name and its port (`node.example.org:6891`); addresses never reach here (``resolve(_:family:)``).
    private static func split(_ text: String) -> (host: String, port: UInt16)? {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else { return nil }
        let host = String(text[..<colon])
        // A name: letters, digits, dots, hyphens, underscores (no brackets, spaces or colons).
        guard !host.isEmpty, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._".contains($0)) }) else { return nil }
        return (host, port)
    }

    private static func resolveBlocking(_ text: String, family: Family) -> Result<[Endpoint], NodeError> {
        guard let (host, port) = split(text) else {
            return .failure(NodeError("'\(text)' is not HOST:PORT (a name or an address, e.g. node.example.org:6891 or [::1]:6891)"))
        }
        var hints = addrinfo()
        hints.ai_family = family == .v4 ? AF_INET : AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0, let first = list else {
            return .failure(NodeError("cannot resolve '\(host)': \(String(cString: gai_strerror(status)))"))
        }
        defer { freeaddrinfo(list) }
        var result: [Endpoint] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            if let raw = info.pointee.ai_addr, let endpoint = endpoint(raw, family: info.pointee.ai_family, port: port),
               !result.contains(endpoint) {
                result.append(endpoint)
            }
            cursor = info.pointee.ai_next
        }
        return result.isEmpty ? .failure(NodeError("'\(host)' has no IPv4 or IPv6 address")) : .success(result)
    }

    private static func endpoint(_ raw: UnsafeMutablePointer<sockaddr>, family: Int32, port: UInt16) -> Endpoint? {
        let bytes = UnsafeRawPointer(raw)
        switch family {
        case AF_INET:
            // struct sockaddr_in: family (2 bytes), port (2), address (4, network order).
            return Endpoint(address: .v4(UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self))), port: port)
        case AF_INET6:
            // struct sockaddr_in6: family (2), port (2), flow info (4), address (16).
            let address = (0..<16).map { bytes.load(fromByteOffset: 8 + $0, as: UInt8.self) }
            return Endpoint(compact: address + [UInt8(port >> 8), UInt8(port & 0xFF)])
        default:
            return nil
        }
    }
}
