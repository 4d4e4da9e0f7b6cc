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

/// Calls `body` with an IPv4 `sockaddr` for `ip:port` (host order), for `connect`, `bind` and
/// `sendto`.
public func withSocketAddress<R>(_ ip: UInt32, port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
    // struct sockaddr_in: family (2 bytes, host order), port (2), address (4, both network
    // order), then 8 zero bytes.
    let raw = withUnsafeBytes(of: sa_family_t(AF_INET), Array.init) + withUnsafeBytes(of: port.bigEndian, Array.init)
        + withUnsafeBytes(of: ip.bigEndian, Array.init) + [UInt8](repeating: 0, count: 8)
    return withSocketAddress(bytes: raw, body)
}

/// Calls `body` with the `sockaddr` whose bytes are `raw`. Socket addresses are laid out by hand
/// in this module: it also sees SwiftNIO's copy of the C socket headers, and which copy a
/// struct's members resolve to then varies from one build to the next (#MemberImportVisibility
/// refuses some builds and not others).
public func withSocketAddress<R>(bytes raw: [UInt8], _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
    let size = max(raw.count, 128)
    let storage = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
    defer { storage.deallocate() }
    storage.initializeMemory(as: UInt8.self, repeating: 0, count: size)
    raw.withUnsafeBytes { storage.copyMemory(from: $0.baseAddress!, byteCount: raw.count) }
    return body(UnsafePointer(storage.bindMemory(to: sockaddr.self, capacity: 1)), socklen_t(raw.count))
}
