import Dispatch
import Foundation
import Kademlia
import Reachability
#if canImport(Glibc)
import Glibc
#endif

/// Asks the home router for port mappings through UPnP IGD (`spec/0021-reachability.md` §3.2):
/// SSDP to find it, its description for the control URL, then SOAP `GetExternalIPAddress`,
/// `AddPortMapping` and `DeletePortMapping` over HTTP. Blocking sockets with short timeouts,
/// on a Dispatch thread.
struct UPnPMapper: Sendable {
    let gateway: Endpoint.Address

    /// Maps `udpPort` and `tcpPort` for `lease` seconds (same port outside and inside).
    func map(udpPort: UInt16?, tcpPort: UInt16?, lease: UInt32 = NATPMP.lifetimeSeconds) async throws(PortMapper.Failure) -> PortMapping {
        let gateway = self.gateway
        let result: Result<PortMapping, PortMapper.Failure> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: Result { () throws(PortMapper.Failure) in
                    let (service, control, local) = try Self.discover(gateway)
                    let answer = try Self.soap(control, service: service, action: "GetExternalIPAddress", arguments: [])
                    guard let text = UPnPIGD.value(of: "NewExternalIPAddress", in: answer), let address = Endpoint("\(text):0")?.address
                    else { throw .refused("the router gave no public address over UPnP") }
                    for (transport, port) in [("UDP", udpPort), ("TCP", tcpPort)] {
                        guard let port else { continue }
                        _ = try Self.soap(control, service: service, action: "AddPortMapping",
                                          arguments: UPnPIGD.addPortMapping(port: port, transport: transport, internalClient: local, lease: lease))
                    }
                    return PortMapping(protocolName: "UPnP IGD", publicAddress: address, udpPort: udpPort, tcpPort: tcpPort, lifetime: lease)
                })
            }
        }
        return try result.get()
    }

    func unmap(udpPort: UInt16?, tcpPort: UInt16?) async {
        let gateway = self.gateway
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                if let (service, control, _) = try? Self.discover(gateway) {
                    for (transport, port) in [("UDP", udpPort), ("TCP", tcpPort)] {
                        guard let port else { continue }
                        _ = try? Self.soap(control, service: service, action: "DeletePortMapping",
                                           arguments: UPnPIGD.deletePortMapping(port: port, transport: transport))
                    }
                }
                continuation.resume()
            }
        }
    }

    /// The router's port-mapping service, its control URL, and this machine's address toward it.
    private static func discover(_ gateway: Endpoint.Address) throws(PortMapper.Failure) -> (String, String, String) {
        guard case .v4(let ip) = gateway else { throw .noAnswer(gateway) }
        let socket = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard socket >= 0 else { throw .noAnswer(gateway) }
        defer { close(socket) }
        var timeout = timeval(tv_sec: 0, tv_usec: 500_000)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // Multicast as the standard says, and to the gateway itself (some routers answer only that).
        let targets = [UInt32(0xEFFF_FFFA), ip]
        var buffer = [UInt8](repeating: 0, count: 2048)
        for _ in 0..<2 {
            for target in targets { sendTo(socket, UPnPIGD.searchRequest, address: target, port: UPnPIGD.ssdpPort) }
            for _ in 0..<4 {
                let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
                guard count > 0, let location = UPnPIGD.location(inSearchAnswer: String(decoding: buffer[..<count], as: UTF8.self))
                else { continue }
                guard let description = try? http(location, body: nil, action: nil),
                      let (service, control) = UPnPIGD.controlURL(inDescription: description, base: location) else { continue }
                return (service, control, localAddress(toward: ip))
            }
        }
        throw .refused("no UPnP IGD router answered (turn on UPnP or NAT-PMP in the router's settings, or forward the ports by hand)")
    }

    private static func soap(_ url: String, service: String, action: String, arguments: [(String, String)]) throws(PortMapper.Failure) -> String {
        let body = UPnPIGD.soapBody(action: action, service: service, arguments: arguments)
        do { return try http(url, body: body, action: "\"\(service)#\(action)\"") } catch let failure as PortMapper.Failure { throw failure } catch {
            throw .refused("UPnP \(action) failed: \(error)")
        }
    }

    /// One HTTP/1.1 request (GET without a body, POST with one) over a blocking socket, 3 s timeouts.
    private static func http(_ url: String, body: String?, action: String?) throws -> String {
        guard url.hasPrefix("http://") else { throw PortMapper.Failure.refused("the router's URL \(url) is not http") }
        let rest = url.dropFirst(7)
        let hostPort = String(rest.prefix { $0 != "/" })
        let path = String(rest.dropFirst(hostPort.count)).isEmpty ? "/" : String(rest.dropFirst(hostPort.count))
        guard let endpoint = Endpoint(hostPort.contains(":") ? hostPort : hostPort + ":80"), case .v4(let ip) = endpoint.address else {
            throw PortMapper.Failure.refused("cannot read the router's URL \(url)")
        }
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw PortMapper.Failure.refused("no socket") }
        defer { close(socket) }
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard withSocketAddress(ip, port: endpoint.port, { connect(socket, $0, $1) }) == 0 else { throw PortMapper.Failure.refused("cannot connect to the router at \(hostPort)") }
        var request = "\(body == nil ? "GET" : "POST") \(path) HTTP/1.1\r\nHost: \(hostPort)\r\nConnection: close\r\n"
        if let body, let action {
            request += "Content-Type: text/xml; charset=\"utf-8\"\r\nSOAPAction: \(action)\r\nContent-Length: \(body.utf8.count)\r\n"
        }
        request += "\r\n" + (body ?? "")
        let bytes = Array(request.utf8)
        guard bytes.withUnsafeBytes({ send(socket, $0.baseAddress, $0.count, 0) }) == bytes.count else {
            throw PortMapper.Failure.refused("cannot write to the router at \(hostPort)")
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while response.count < 1 << 20 {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            response += buffer[..<count]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let status = text.split(separator: " ", maxSplits: 2).dropFirst().first, let split = text.range(of: "\r\n\r\n") else {
            throw PortMapper.Failure.refused("the router at \(hostPort) sent no HTTP answer")
        }
        let payload = String(text[split.upperBound...])
        guard status == "200" else {
            throw PortMapper.Failure.refused(UPnPIGD.fault(in: payload).map { "the router refused: \($0)" } ?? "the router answered HTTP \(status)")
        }
        return payload
    }

    private static func sendTo(_ socket: Int32, _ bytes: [UInt8], address ip: UInt32, port: UInt16) {
        _ = withSocketAddress(ip, port: port) { target, length in
            bytes.withUnsafeBytes { sendto(socket, $0.baseAddress, $0.count, 0, target, length) }
        }
    }

    /// This machine's IPv4 address on the route to `ip` (a connected UDP socket's own address).
    private static func localAddress(toward ip: UInt32) -> String {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(socket) }
        _ = withSocketAddress(ip, port: UPnPIGD.ssdpPort) { connect(socket, $0, $1) }
        // struct sockaddr_in, read by hand (see `withSocketAddress(bytes:_:)`): the address is
        // bytes 4 to 7, in network order.
        var local = [UInt8](repeating: 0, count: 128)
        var length = socklen_t(local.count)
        _ = local.withUnsafeMutableBytes { getsockname(socket, $0.baseAddress!.bindMemory(to: sockaddr.self, capacity: 1), &length) }
        return Endpoint(address: .v4(local[4..<8].reduce(0) { $0 << 8 | UInt32($1) }), port: 0).addressText
    }
}
