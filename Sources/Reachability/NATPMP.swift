/// NAT-PMP (RFC 6886): asking a home router for its public address and for a port mapping, in
/// 2- to 16-byte UDP messages to the gateway's port 5351. Pure encoding and decoding; the node's
/// `PortMapper` sends them (`spec/0021-reachability.md` §3).
public enum NATPMP {
    /// The router's NAT-PMP port.
    public static let port: UInt16 = 5351
    /// The waits between retransmissions (RFC 6886 §3.1 starts at 250 ms and doubles; four
    /// tries are enough on a home network and bound a missing router to under 4 s).
    public static let retransmissions: [Duration] = [.milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2)]
    /// The lease asked for (RFC 6886 §3.3 recommends two hours); renewed at half of what is granted.
    public static let lifetimeSeconds: UInt32 = 7200

    public enum Transport: UInt8, Sendable, Hashable, Codable {
        case udp = 1
        case tcp = 2
    }

    public enum DecodeError: Error, Equatable, CustomStringConvertible {
        case truncated(Int)
        case notAReply(version: UInt8, opcode: UInt8)
        case refused(code: UInt16)

        public var description: String {
            switch self {
            case .truncated(let length): return "a NAT-PMP reply of \(length) bytes is too short"
            case .notAReply(let version, let opcode): return "not a NAT-PMP reply (version \(version), opcode \(opcode))"
            case .refused(let code): return "the router refused: \(NATPMP.resultText(code))"
            }
        }
    }

    /// The public-address request (§3.2): version 0, opcode 0.
    public static let externalAddressRequest: [UInt8] = [0, 0]

    /// A mapping request (§3.3): a lifetime of 0 with external port 0 removes the mapping.
    public static func mappingRequest(_ transport: Transport, internalPort: UInt16, suggestedExternalPort: UInt16, lifetime: UInt32) -> [UInt8] {
        [0, transport.rawValue, 0, 0] + bigEndian(internalPort) + bigEndian(suggestedExternalPort) + bigEndian(lifetime)
    }

    /// A decoded reply to the public-address request.
    public struct ExternalAddress: Sendable, Equatable {
        public var epoch: UInt32
        /// The router's public IPv4 address, host order.
        public var address: UInt32
    }

    /// A decoded reply to a mapping request.
    public struct Mapping: Sendable, Equatable {
        public var transport: Transport
        public var epoch: UInt32
        public var internalPort: UInt16
        public var externalPort: UInt16
        public var lifetime: UInt32
    }

    public static func decodeExternalAddress(_ bytes: [UInt8]) throws(DecodeError) -> ExternalAddress {
        try checkHeader(bytes, opcode: 128, length: 12)
        return ExternalAddress(epoch: read32(bytes, 4), address: read32(bytes, 8))
    }

    public static func decodeMapping(_ bytes: [UInt8], _ transport: Transport) throws(DecodeError) -> Mapping {
        try checkHeader(bytes, opcode: 128 + transport.rawValue, length: 16)
        return Mapping(transport: transport, epoch: read32(bytes, 4), internalPort: read16(bytes, 8),
                       externalPort: read16(bytes, 10), lifetime: read32(bytes, 12))
    }

    /// RFC 6886 §3.5's result codes in words.
    public static func resultText(_ code: UInt16) -> String {
        switch code {
        case 1: return "unsupported version (1)"
        case 2: return "not authorized: port mapping is turned off on the router (2)"
        case 3: return "network failure: the router has no public address (3)"
        case 4: return "out of resources: no port left (4)"
        case 5: return "unsupported opcode (5)"
        default: return "result code \(code)"
        }
    }

    private static func checkHeader(_ bytes: [UInt8], opcode: UInt8, length: Int) throws(DecodeError) {
        guard bytes.count >= 4 else { throw .truncated(bytes.count) }
        guard bytes[0] == 0, bytes[1] == opcode else { throw .notAReply(version: bytes[0], opcode: bytes[1]) }
        let code = read16(bytes, 2)
        guard code == 0 else { throw .refused(code: code) }
        guard bytes.count >= length else { throw .truncated(bytes.count) }
    }

    private static func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian, Array.init)
    }

    private static func read16(_ bytes: [UInt8], _ at: Int) -> UInt16 { UInt16(bytes[at]) << 8 | UInt16(bytes[at + 1]) }

    private static func read32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(read16(bytes, at)) << 16 | UInt32(read16(bytes, at + 2))
    }
}
