// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Crypto
import NIOCore

/// The relay's clear-text preambles (`spec/0021-reachability.md` §5): the first bytes of a TCP
/// connection to a relay's job port, told apart from the job channel's `PLJC` magic.
///
/// - **listen** (an unreachable lender `L` to the relay `R`): `L → R` `PLRL ‖ key (32)`;
///   `R → L` a 32-byte nonce; `L → R` `sig (64)` = Ed25519 over `D ‖ nonce ‖ key` with
///   `D` = ``listenDomain``; `R → L` one status byte. Then `R → L` one 9-byte ``circuitRequest``
///   per borrower, and either side may send the 1-byte ``keepAlive``.
/// - **connect** (a borrower `B` to `R`): `B → R` `PLRC ‖ lender key (32)`; `R → B` one status
///   byte; on ``Status/spliced`` the bytes that follow are the job channel, end to end with `L`.
/// - **answer** (`L` to `R`, on a circuit request): `PLRA ‖ circuit (8, big-endian)`; the
///   bytes that follow are the job channel with `B`, `L` on the server's side.
public enum RelayWire {
    public static let listenTag: [UInt8] = Array("PLRL".utf8)
    public static let connectTag: [UInt8] = Array("PLRC".utf8)
    public static let answerTag: [UInt8] = Array("PLRA".utf8)
    /// The first three bytes shared by every relay preamble.
    public static let family: [UInt8] = Array("PLR".utf8)
    public static let listenDomain: [UInt8] = Array("potluck relay listen v1".utf8)
    public static let keepAlive: UInt8 = 0x4B  // "K"
    public static let circuitTag: UInt8 = 0x43  // "C"

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

    public static func answer(_ circuit: UInt64) -> [UInt8] {
        answerTag + withUnsafeBytes(of: circuit.bigEndian, Array.init)
    }

    static func circuit(_ bytes: some Collection<UInt8>) -> UInt64 {
        bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
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
