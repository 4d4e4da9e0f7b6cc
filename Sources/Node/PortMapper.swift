import Dispatch
import Kademlia
import Reachability
#if canImport(Glibc)
import Glibc
#endif

/// Asks the home router for port mappings through NAT-PMP (RFC 6886): the router's public
/// address, then one UDP mapping for the DHT and one TCP mapping for the job channel, each
/// asking for the same port outside as inside (`spec/0021-reachability.md` §3).
///
/// Each exchange is a connected UDP socket to the gateway's port 5351, so only the gateway's
/// replies are read, with RFC 6886's doubling retransmissions (under 4 s in all).
struct PortMapper: Sendable {
    let gateway: Endpoint.Address

    enum Failure: Error, CustomStringConvertible {
        case noAnswer(Endpoint.Address)
        case refused(String)

        var description: String {
            switch self {
            case .noAnswer(let gateway):
                "the router \(Endpoint(address: gateway, port: 0).addressText) does not answer NAT-PMP (turn on UPnP/NAT-PMP in its settings, or forward the ports by hand)"
            case .refused(let why): why
            }
        }
    }

    /// Maps `udpPort` and `tcpPort` (either may be nil) for `lifetime` seconds.
    func map(udpPort: UInt16?, tcpPort: UInt16?, lifetime: UInt32 = NATPMP.lifetimeSeconds) async throws(Failure) -> PortMapping {
        let external = try await ask(NATPMP.externalAddressRequest, decode: NATPMP.decodeExternalAddress)
        var granted: [NATPMP.Transport: NATPMP.Mapping] = [:]
        for (transport, port) in [(NATPMP.Transport.udp, udpPort), (.tcp, tcpPort)] {
            guard let port else { continue }
            let request = NATPMP.mappingRequest(transport, internalPort: port, suggestedExternalPort: port, lifetime: lifetime)
            granted[transport] = try await ask(request) { bytes throws(NATPMP.DecodeError) in try NATPMP.decodeMapping(bytes, transport) }
        }
        return PortMapping(protocolName: "NAT-PMP", publicAddress: .v4(external.address), udpPort: granted[.udp]?.externalPort,
                           tcpPort: granted[.tcp]?.externalPort, lifetime: granted.values.map(\.lifetime).min() ?? lifetime)
    }

    /// Removes the mappings of `udpPort` and `tcpPort` (a lifetime of zero, RFC 6886 §3.4).
    func unmap(udpPort: UInt16?, tcpPort: UInt16?) async {
        for (transport, port) in [(NATPMP.Transport.udp, udpPort), (.tcp, tcpPort)] {
            guard let port else { continue }
            _ = try? await ask(NATPMP.mappingRequest(transport, internalPort: port, suggestedExternalPort: 0, lifetime: 0)) {
                bytes throws(NATPMP.DecodeError) in try NATPMP.decodeMapping(bytes, transport)
            }
        }
    }

    private func ask<T: Sendable>(_ request: [UInt8], decode: @escaping @Sendable ([UInt8]) throws(NATPMP.DecodeError) -> T) async throws(Failure) -> T {
        let gateway = self.gateway
        let result: Result<T, Failure> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: Self.exchange(request, gateway: gateway, decode: decode))
            }
        }
        return try result.get()
    }

    /// Sends `request` and waits for a reply that decodes, retransmitting on RFC 6886's schedule.
    private static func exchange<T>(
        _ request: [UInt8], gateway: Endpoint.Address, decode: ([UInt8]) throws(NATPMP.DecodeError) -> T
    ) -> Result<T, Failure> {
        guard case .v4(let ip) = gateway else { return .failure(.noAnswer(gateway)) }
        let socket = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard socket >= 0 else { return .failure(.noAnswer(gateway)) }
        defer { close(socket) }
        guard withSocketAddress(ip, port: NATPMP.port, { connect(socket, $0, $1) }) == 0 else { return .failure(.noAnswer(gateway)) }
        var buffer = [UInt8](repeating: 0, count: 64)
        for wait in NATPMP.retransmissions {
            _ = request.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, 0) }
            let (seconds, attoseconds) = wait.components
            var timeout = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
            setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            while true {
                let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { break }  // timed out (or ICMP unreachable): send again
                do { return .success(try decode(Array(buffer[..<count]))) } catch {
                    if case .refused = error { return .failure(.refused(error.description)) }
                    // a reply to another request, or junk: keep waiting
                }
            }
        }
        return .failure(.noAnswer(gateway))
    }
}

/// The router's port mappings by whichever protocol it speaks: NAT-PMP first (one round trip per
/// mapping), then UPnP IGD (most home routers); removed by the protocol that made them.
struct RouterMapping: Sendable {
    let gateway: Endpoint.Address

    func map(udpPort: UInt16?, tcpPort: UInt16?) async throws(PortMapper.Failure) -> PortMapping {
        do { return try await PortMapper(gateway: gateway).map(udpPort: udpPort, tcpPort: tcpPort) } catch let natPMP {
            do { return try await UPnPMapper(gateway: gateway).map(udpPort: udpPort, tcpPort: tcpPort) } catch {
                if case .noAnswer = natPMP, case .refused(let why) = error, why.hasPrefix("no UPnP IGD router answered") {
                    throw .refused("the router \(Endpoint(address: gateway, port: 0).addressText) answers neither NAT-PMP nor UPnP IGD (turn one on in its settings, or forward the ports by hand)")
                }
                throw .refused("NAT-PMP: \(natPMP); UPnP IGD: \(error)")
            }
        }
    }

    func unmap(_ mapping: PortMapping) async {
        if mapping.protocolName == "NAT-PMP" {
            await PortMapper(gateway: gateway).unmap(udpPort: mapping.udpPort, tcpPort: mapping.tcpPort)
        } else {
            await UPnPMapper(gateway: gateway).unmap(udpPort: mapping.udpPort, tcpPort: mapping.tcpPort)
        }
    }
}
