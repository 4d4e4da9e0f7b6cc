/// A UDP endpoint: an IPv4 or IPv6 address and a port, with the "compact" encodings of
/// BEP 5 (6 bytes: 4 address + 2 port, network order) and BEP 32 (18 bytes: 16 + 2).
public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
    /// An IP address, held inline.
    public enum Address: Sendable, Hashable {
        /// IPv4, in host order (`0x7f000001` is 127.0.0.1).
        case v4(UInt32)
        /// IPv6, as two host-order halves (bytes 0–7, bytes 8–15).
        case v6(UInt64, UInt64)
    }

    public var address: Address
    public var port: UInt16

    public init(address: Address, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// The length of a compact endpoint: 6 for IPv4, 18 for IPv6.
    public var compactLength: Int { if case .v4 = address { 6 } else { 18 } }

    /// The address bytes in network order (4 or 16).
    public var addressBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(16)
        appendAddressBytes(to: &out)
        return out
    }

    /// Appends the address bytes in network order (4 or 16).
    public func appendAddressBytes(to buffer: inout [UInt8]) {
        withAddressBytes { appendRaw($0, to: &buffer) }
    }

    /// Calls `body` with the address bytes in network order (4 or 16), without allocating.
    public func withAddressBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch address {
        case .v4(let value):
            return try withUnsafeBytes(of: value.bigEndian, body)
        case .v6(let hi, let lo):
            return try withUnsafeBytes(of: (hi.bigEndian, lo.bigEndian)) { try body(UnsafeRawBufferPointer(rebasing: $0[..<16])) }
        }
    }

    /// Appends the compact form (address then port, network order).
    public func appendCompact(to buffer: inout [UInt8]) {
        switch address {
        case .v4(let value):
            // 4 + 2 bytes: the tuple has no padding before the port.
            withUnsafeBytes(of: (value.bigEndian, port.bigEndian)) { appendRaw(UnsafeRawBufferPointer(rebasing: $0[..<6]), to: &buffer) }
        case .v6(let hi, let lo):
            withUnsafeBytes(of: (hi.bigEndian, lo.bigEndian, port.bigEndian)) { appendRaw(UnsafeRawBufferPointer(rebasing: $0[..<18]), to: &buffer) }
        }
    }

    /// The compact form.
    public var compact: [UInt8] {
        var out: [UInt8] = []
        appendCompact(to: &out)
        return out
    }

    /// Reads a compact endpoint of 6 (IPv4) or 18 (IPv6) bytes; `nil` for other lengths.
    public init?(compact bytes: some Collection<UInt8>) {
        // Contiguous bytes (arrays, slices): unaligned big-endian loads, no copy.
        let loaded = bytes.withContiguousStorageIfAvailable(Self.init(compactBuffer:))
        if let loaded {
            guard let loaded else { return nil }
            self = loaded
            return
        }
        let raw = Array(bytes)
        func word(_ range: Range<Int>) -> UInt64 { raw[range].reduce(0) { $0 << 8 | UInt64($1) } }
        switch raw.count {
        case 6: address = .v4(UInt32(word(0..<4)))
        case 18: address = .v6(word(0..<8), word(8..<16))
        default: return nil
        }
        port = UInt16(raw[raw.count - 2]) << 8 | UInt16(raw[raw.count - 1])
    }

    private init?(compactBuffer buffer: UnsafeBufferPointer<UInt8>) {
        let raw = UnsafeRawBufferPointer(buffer)
        switch raw.count {
        case 6: address = .v4(UInt32(bigEndian: raw.loadUnaligned(as: UInt32.self)))
        case 18:
            address = .v6(UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self)),
                          UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        default: return nil
        }
        port = UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: raw.count - 2, as: UInt16.self))
    }

    /// Parses an IPv4 dotted quad or an IPv6 address in text; `nil` otherwise.
    public static func parseAddress(_ text: String) -> Address? {
        if let v4 = parseIPv4(text) { return .v4(v4) }
        return parseIPv6(text)
    }

    /// Parses `HOST:PORT` (IPv4) or `[HOST]:PORT` (IPv6); `nil` otherwise.
    public init?(_ text: String) {
        let host: Substring, portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard let port = UInt16(portText), let address = Self.parseAddress(String(host)) else { return nil }
        self.init(address: address, port: port)
    }

    public var description: String {
        switch address {
        case .v4: return "\(addressText):\(port)"
        case .v6: return "[\(addressText)]:\(port)"
        }
    }

    /// The address as text (dotted quad, or RFC 5952 IPv6 with the longest zero run shortened).
    public var addressText: String {
        let bytes = addressBytes
        if case .v4 = address { return bytes.map(String.init).joined(separator: ".") }
        let groups = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
        var best = (start: -1, length: 0), run = (start: -1, length: 0)
        for (index, group) in groups.enumerated() {
            if group == 0 {
                run = run.start < 0 ? (index, 1) : (run.start, run.length + 1)
                if run.length > best.length { best = run }
            } else {
                run = (-1, 0)
            }
        }
        let hex = groups.map { String($0, radix: 16) }
        guard best.length >= 2 else { return hex.joined(separator: ":") }
        let head = hex[..<best.start].joined(separator: ":"), tail = hex[(best.start + best.length)...].joined(separator: ":")
        return head + "::" + tail
    }

    private static func parseIPv4(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), let byte = UInt8(part) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }

    private static func parseIPv6(_ text: String) -> Address? {
        let chars = Array(text)
        var halves = [text]
        if let gap = (0..<max(0, chars.count - 1)).first(where: { chars[$0] == ":" && chars[$0 + 1] == ":" }) {
            halves = [String(chars[..<gap]), String(chars[(gap + 2)...])]
            guard !halves[1].hasPrefix(":"), !halves[1].contains("::") else { return nil }
        }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            for piece in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard (1...4).contains(piece.count), let value = UInt16(piece, radix: 16) else { return nil }
                out.append(value)
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        var all = head
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count < 8 else { return nil }
            all += [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard all.count == 8 else { return nil }
        let hi = all[0..<4].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        let lo = all[4..<8].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        return .v6(hi, lo)
    }
}

extension Endpoint.Address {
    /// The address family, for BEP 32's `want` and `nodes`/`nodes6`.
    public enum Family: Sendable, Hashable { case v4, v6 }

    public var family: Family {
        if case .v4 = self { .v4 } else { .v6 }
    }

    /// 127.0.0.0/8 or ::1: this machine only.
    public var isLoopback: Bool {
        switch self {
        case .v4(let value): value >> 24 == 127
        case .v6(let high, let low): high == 0 && low == 1
        }
    }
}

extension Endpoint.Address.Family {
    /// The family of `endpoint`'s address.
    public init(_ endpoint: Endpoint) { self = endpoint.address.family }
}
