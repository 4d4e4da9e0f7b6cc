// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import PotluckCrypto
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// The relay's clear-text preambles (`spec/0021-reachability.md` §5): the first bytes of a TCP
/// connection to a relay's job port, told apart from the job channel's `PLJC` magic.
///
/// - **listen** (an unreachable lender `L` to the relay `R`): `L → R` `PLRL ‖ key (32)`;
///   `R → L` a 32-byte nonce; `L → R` `sig (64)` = Ed25519 over `D ‖ nonce ‖ key` with
///   `D` = ``listenDomain``; `R → L` one status byte. Then `R → L` one 9-byte ``circuitRequest``
///   per borrower, and either side may send the 1-byte ``keepAlive``.
/// - **connect** (a borrower `B` to `R`): `B → R` `PLRC ‖ lender key (32) ‖ B's local endpoint`;
///   `R → B` one status byte; on ``Status/spliced`` a ``Rendezvous``, then the job channel, end
///   to end with `L`.
/// - **answer** (`L` to `R`, on a circuit request): `PLRA ‖ circuit (8, big-endian) ‖ L's local
///   endpoint`; `R → L` a ``Rendezvous``, then the job channel with `B`, `L` on the server's side.
///
/// An endpoint is 18 bytes (``endpointSize``): a 16-byte IPv6 address (IPv4 as `::ffff:a.b.c.d`)
/// and a big-endian port, all zero when unknown.
public enum RelayWire {
    public static let listenTag: [UInt8] = Array("PLRL".utf8)
    public static let connectTag: [UInt8] = Array("PLRC".utf8)
    public static let answerTag: [UInt8] = Array("PLRA".utf8)
    /// The first three bytes shared by every relay preamble.
    public static let family: [UInt8] = Array("PLR".utf8)
    public static let listenDomain: [UInt8] = Array("potluck relay listen v1".utf8)
    public static let keepAlive: UInt8 = 0x4B  // "K"
    public static let circuitTag: UInt8 = 0x43  // "C"
    /// On a listening session (§5.5): the relay's receipt proposal (`P ‖ circuit (8) ‖ length (2) ‖
    /// receipt`), the lender's countersigned receipt (`A ‖ length (2) ‖ receipt`) or refusal
    /// (`X ‖ length (2) ‖ reason in UTF-8`).
    public static let proposalTag: UInt8 = 0x50  // "P"
    public static let countersignedTag: UInt8 = 0x41  // "A"
    public static let refusedTag: UInt8 = 0x58  // "X"
    /// The longest receipt or reason a session frame carries.
    public static let maxReceiptFrame = 2048

    /// A session frame with a 2-byte length: `tag ‖ prefix ‖ length ‖ body`.
    static func sessionFrame(_ tag: UInt8, prefix: [UInt8] = [], _ body: [UInt8]) -> [UInt8] {
        let body = Array(body.prefix(maxReceiptFrame))
        return [tag] + prefix + [UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
    }

    public enum Status: UInt8, Sendable {
        case spliced = 0
        case lenderAbsent = 1
        case full = 2
        case lenderSilent = 3
        case refused = 4

        /// Why a relay refused, in words.
        public var reason: String {
            switch self {
            case .spliced: "connected"
            case .lenderAbsent: "the lender is not connected to this relay"
            case .full: "the relay is full"
            case .lenderSilent: "the lender did not answer the relay in time"
            case .refused: "the relay refused (a bad signature or a relay turned off)"
            }
        }
    }

    /// What a lender signs to listen at a relay.
    public static func listenMessage(nonce: [UInt8], key: PublicKey) -> [UInt8] {
        listenDomain + nonce + key.bytes
    }

    public static func circuitRequest(_ circuit: UInt64) -> [UInt8] {
        [circuitTag] + withUnsafeBytes(of: circuit.bigEndian, Array.init)
    }

    public static func answer(_ circuit: UInt64, local: WireEndpoint?) -> [UInt8] {
        answerTag + withUnsafeBytes(of: circuit.bigEndian, Array.init) + WireEndpoint.encode(local)
    }

    public static func connect(_ lender: PublicKey, local: WireEndpoint?) -> [UInt8] {
        connectTag + lender.bytes + WireEndpoint.encode(local)
    }

    static func circuit(_ bytes: some Collection<UInt8>) -> UInt64 {
        bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    public static let endpointSize = 18

    /// What the relay tells each side of a circuit so both can punch a direct connection
    /// (`spec/0021-reachability.md` §6): `mine ‖ theirs ‖ theirsLocal`, 54 bytes. `mine` and
    /// `theirs` are the endpoints the relay sees the two connections come from; `theirsLocal` is
    /// the one the other side said it is bound to, behind its router.
    public struct Rendezvous: Equatable, Sendable {
        public var mine: WireEndpoint?
        public var theirs: WireEndpoint?
        public var theirsLocal: WireEndpoint?
        public static let size = 3 * endpointSize

        public init(mine: WireEndpoint?, theirs: WireEndpoint?, theirsLocal: WireEndpoint?) {
            self.mine = mine
            self.theirs = theirs
            self.theirsLocal = theirsLocal
        }

        public init(_ bytes: [UInt8]) {
            precondition(bytes.count == Self.size)
            mine = WireEndpoint(bytes[0..<18])
            theirs = WireEndpoint(bytes[18..<36])
            theirsLocal = WireEndpoint(bytes[36..<54])
        }

        public var bytes: [UInt8] { [mine, theirs, theirsLocal].flatMap { WireEndpoint.encode($0) } }

        /// Where to punch: the other side's local endpoint when both sides are behind the same
        /// public address (one router: its LAN joins them), else the endpoint the relay saw.
        public var target: WireEndpoint? {
            if let mine, let theirs, mine.address == theirs.address, let theirsLocal { return theirsLocal }
            return theirs
        }
    }
}

/// An IP endpoint in the relay's 18-byte form (`spec/0021-reachability.md` §5.1).
public struct WireEndpoint: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// 16 bytes: IPv6, or IPv4 mapped (`::ffff:a.b.c.d`).
    public var address: [UInt8]
    public var port: Int

    /// Decodes 18 bytes; `nil` for the all-zero "unknown" endpoint.
    public init?(_ bytes: some Collection<UInt8>) {
        let bytes = Array(bytes)
        guard bytes.count == RelayWire.endpointSize, bytes.contains(where: { $0 != 0 }) else { return nil }
        address = Array(bytes[0..<16])
        port = Int(bytes[16]) << 8 | Int(bytes[17])
    }

    /// From an address in text (`203.0.113.7`, `2001:db8::1`) and a port.
    public init?(host: String, port: Int) {
        var v4 = [UInt8](repeating: 0, count: 4), v6 = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET, host, &v4) == 1 {
            address = [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF] + v4
        } else if inet_pton(AF_INET6, host, &v6) == 1 {
            address = v6
        } else {
            return nil
        }
        guard (0...65535).contains(port) else { return nil }
        self.port = port
    }

    init?(_ socket: SocketAddress?) {
        guard let socket, let host = socket.ipAddress, let port = socket.port else { return nil }
        self.init(host: host, port: port)
    }

    /// The address in text: dotted IPv4 when mapped.
    public var host: String {
        if address.prefix(12) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] { return address.suffix(4).map(String.init).joined(separator: ".") }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        _ = inet_ntop(AF_INET6, address, &text, socklen_t(text.count))
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    static func encode(_ endpoint: WireEndpoint?) -> [UInt8] {
        guard let endpoint else { return [UInt8](repeating: 0, count: RelayWire.endpointSize) }
        return endpoint.address + [UInt8(endpoint.port >> 8), UInt8(endpoint.port & 0xFF)]
    }

    var socketAddress: SocketAddress? { try? SocketAddress(ipAddress: host, port: port) }
}

/// Reads exact byte counts from a ``ByteTransport``, keeping what it read beyond them.
struct ByteReader {
    let transport: ByteTransport
    var buffered: [UInt8]

    init(_ transport: ByteTransport, buffered: [UInt8] = []) {
        self.transport = transport
        self.buffered = buffered
    }

    /// The next `count` bytes; throws `truncated` if the stream ends first.
    mutating func read(_ count: Int) async throws -> [UInt8] {
        while buffered.count < count {
            guard let chunk = try await transport.read() else {
                throw ChannelError(.truncated, "the peer closed the connection")
            }
            buffered += chunk.readableBytesView
        }
        let head = Array(buffered[..<count])
        buffered.removeFirst(count)
        return head
    }
}
