// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import PotluckCrypto
#if canImport(Glibc)
import Glibc
#endif

/// A circuit, or a period of a datagram tunnel, as one side saw it (`spec/0021-reachability.md`
/// §5.5): the bytes that crossed the relay, both ways, and when it began and ended (Unix
/// milliseconds).
public struct RelayedCircuit: Sendable, Equatable {
    /// The circuit's id, or the tunnel period's number (1, 2, …).
    public var circuit: UInt64
    public var bytes: Int64
    public var start: Int64
    public var end: Int64
    /// What the receipt names as its job: BLAKE2b-256 of `"potluck relay circuit v1" ‖ circuit
    /// (8, big-endian)`, or for a tunnel of `"potluck relay tunnel v1" ‖ nonce (32) ‖ period (8)`,
    /// where the nonce is the one the relay had the node sign when it opened the tunnel.
    public let digest: Bytes32

    public init(circuit: UInt64, bytes: Int64, start: Int64, end: Int64) {
        self.circuit = circuit
        self.bytes = bytes
        self.start = start
        self.end = end
        digest = Blake2b.hash256(Array("potluck relay circuit v1".utf8) + withUnsafeBytes(of: circuit.bigEndian, Array.init))
    }

    /// The `period`th period of the tunnel opened with `nonce` (§5.5).
    public init(tunnel nonce: [UInt8], period: UInt64, bytes: Int64, start: Int64, end: Int64) {
        circuit = period
        self.bytes = bytes
        self.start = start
        self.end = end
        digest = Blake2b.hash256(Array("potluck relay tunnel v1".utf8) + nonce + withUnsafeBytes(of: period.bigEndian, Array.init))
    }

    /// The wall clock in Unix milliseconds.
    public static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }
}

/// What a lender says to a relay's receipt proposal.
public enum RelayReceiptAnswer: Sendable, Equatable {
    /// The receipt, signed by both (its encoding).
    case countersigned([UInt8])
    /// Why not, in words.
    case refused(String)
}

/// Relaying as a gift the community sees (`spec/0021-reachability.md` §5.5): after each circuit
/// the relay proposes a receipt for the bytes it relayed to the lender it relayed for, over the
/// lender's listening session, and every hour one for a tunnel's datagrams, over the tunnel; the
/// lender (or tunnelled node) checks it against the bytes it counted and countersigns. The job
/// channel only carries the bytes; the node signs, checks and stores.
public protocol RelayLedger: Sendable {
    /// The relay's side: its signed proposal (an encoded receipt) for a circuit that ended, or
    /// `nil` to ask for none.
    func proposal(for circuit: RelayedCircuit, lender: PublicKey) -> [UInt8]?
    /// The relay's side: the lender's answer to a proposal.
    func answered(_ answer: RelayReceiptAnswer, by lender: PublicKey)
    /// The lender's side: its answer to the relay's proposal for a circuit it saw.
    func answer(_ proposal: [UInt8], seen: RelayedCircuit) -> RelayReceiptAnswer
    /// The bytes a receipt (an encoding) counts; 0 if it is not one.
    func relayedBytes(in receipt: [UInt8]) -> Int64
}
