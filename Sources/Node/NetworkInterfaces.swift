import Foundation
import Kademlia
#if canImport(Glibc)
import Glibc
#endif

/// What the machine knows of its own network: its interface addresses and its default gateway
/// (the home router to ask for a port mapping).
enum NetworkInterfaces {
    /// The addresses of this machine's interfaces (IPv4 and IPv6), from `getifaddrs(3)`.
    static func localAddresses() -> Set<Endpoint.Address> {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var addresses: Set<Endpoint.Address> = []
        var cursor = list
        while let entry = cursor {
            if let raw = entry.pointee.ifa_addr {
                switch Int32(raw.pointee.sa_family) {
                case AF_INET:
                    addresses.insert(.v4(UInt32(bigEndian: UnsafeRawPointer(raw).loadUnaligned(fromByteOffset: 4, as: UInt32.self))))
                case AF_INET6:
                    let bytes = UnsafeRawPointer(raw)
                    addresses.insert(.v6(UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                                         UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self))))
                default: break
                }
            }
            cursor = entry.pointee.ifa_next
        }
        return addresses
    }

    /// The IPv4 default gateway, from `/proc/net/route` (Linux): the line whose destination is
    /// 0.0.0.0 and whose gateway flag is set; its fields are the addresses' bytes in network order, printed as one host-order hexadecimal number.
    static func defaultGateway(routes: String? = try? String(contentsOfFile: "/proc/net/route", encoding: .utf8)) -> Endpoint.Address? {
        for line in (routes ?? "").split(separator: "\n").dropFirst() {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 4, fields[1] == "00000000", let gateway = UInt32(fields[2], radix: 16),
                  let flags = UInt32(fields[3], radix: 16), flags & 0x2 != 0, gateway != 0 else { continue }
            return .v4(UInt32(bigEndian: gateway))  // the bytes as stored, read as a host-order number
        }
        return nil
    }

    /// The first IPv4 address of an interface that is not loopback, to stand for an unspecified
    /// bind address (0.0.0.0) where others need an address.
    static func primaryIPv4(among addresses: Set<Endpoint.Address>) -> Endpoint.Address? {
        addresses.compactMap { address -> UInt32? in
            if case .v4(let ip) = address, ip >> 24 != 127 { return ip } else { return nil }
        }.min().map { .v4($0) }
    }
}

/// Calls `body` with an IPv4 `sockaddr` for `ip:port` (host order), for `connect` and `sendto`.
func withSocketAddress<R>(_ ip: UInt32, port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = ip.bigEndian
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
}
