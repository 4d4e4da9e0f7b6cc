// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import Bencode
import PotluckCrypto

/// What one job did, as one side remembers it (`spec/0017-jobs.md` §5): the lender's
/// `potluck status` and the borrower's `potluck jobs` list these.
public struct JobRecord: Sendable, Hashable {
    public enum Role: String, Sendable, Hashable {
        /// This node ran the job for `peer`.
        case lent
        /// `peer` ran the job for this node.
        case borrowed
    }

    public var role: Role
    public var peer: PublicKey
    /// The job's digest (`spec/0014-sandbox.md`).
    public var jobDigest: Bytes32
    public var cores: Int
    /// Unix milliseconds; `end` is when the result was sent or received.
    public var start: Int64
    public var end: Int64
    /// How it ended, for people: "exited 0", "out of fuel", "refused: busy", …
    public var outcome: String
    /// The guest's exit code, or `nil` if no guest ran.
    public var exitCode: Int32?
    public var coreMilliseconds: Int64
    /// The receipt both signed, if the exchange completed.
    public var receipt: Bytes32?

    public init(role: Role, peer: PublicKey, jobDigest: Bytes32, cores: Int, start: Int64, end: Int64,
                outcome: String, exitCode: Int32?, coreMilliseconds: Int64, receipt: Bytes32?) {
        self.role = role
        self.peer = peer
        self.jobDigest = jobDigest
        self.cores = cores
        self.start = start
        self.end = end
        self.outcome = outcome
        self.exitCode = exitCode
        self.coreMilliseconds = coreMilliseconds
        self.receipt = receipt
    }

    /// The storage key: start time (big-endian, so records list in time order), then role and
    /// digest, so two jobs never share a key.
    public var key: [UInt8] {
        withUnsafeBytes(of: UInt64(bitPattern: start).bigEndian, Array.init) + [role == .lent ? 0x4c : 0x42] + jobDigest.bytes
    }

    public func encoded() -> [UInt8] {
        var entries: [[UInt8]: BencodeValue] = [
            Array("role".utf8): .bytes(Array(role.rawValue.utf8)), Array("peer".utf8): .bytes(peer.bytes),
            Array("job".utf8): .bytes(jobDigest.bytes), Array("cores".utf8): .integer(Int64(cores)),
            Array("start".utf8): .integer(start), Array("end".utf8): .integer(end),
            Array("outcome".utf8): .bytes(Array(outcome.utf8)), Array("cpu".utf8): .integer(coreMilliseconds),
        ]
        if let exitCode { entries[Array("exit".utf8)] = .integer(Int64(exitCode)) }
        if let receipt { entries[Array("receipt".utf8)] = .bytes(receipt.bytes) }
        return BencodeValue.dictionary(entries).encoded()
    }

    public init(encoded bytes: [UInt8]) throws(JobProtocolError) {
        let value: BencodeValue
        do { value = try BencodeDecoder(mode: .strict, maxDepth: 2, maxLength: 4096).decode(bytes) } catch {
            throw JobProtocolError("job record: \(error.message)")
        }
        func field(_ key: String) -> BencodeValue? { value[key] }
        guard let roleText = field("role")?.string, let role = Role(rawValue: roleText),
              let peerBytes = field("peer")?.bytes, let peer = try? PublicKey(bytes: peerBytes),
              let digestBytes = field("job")?.bytes, let digest = Bytes32(digestBytes),
              let cores = field("cores")?.integer, let start = field("start")?.integer, let end = field("end")?.integer,
              let outcome = field("outcome")?.string, let cpu = field("cpu")?.integer
        else { throw JobProtocolError("job record: a field is missing or of the wrong type") }
        let exit = field("exit")?.integer.map { Int32(truncatingIfNeeded: $0) }
        let receipt = field("receipt")?.bytes.flatMap { Bytes32($0) }
        self.init(role: role, peer: peer, jobDigest: digest, cores: Int(cores), start: start, end: end,
                  outcome: outcome, exitCode: exit, coreMilliseconds: cpu, receipt: receipt)
    }
}
