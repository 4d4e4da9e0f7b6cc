// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Bencode
import PotluckCrypto

extension GuestOutcome {
    /// The encoding version this code writes and accepts.
    static let encodingVersion: Int64 = 1
    /// The largest encoded outcome the decoder accepts.
    static let maxEncodedBytes = 2 << 30

    /// The canonical bencoding (spec 0014 §5): keys `cpu_ms`, `files`, `fuel`, `peak_mem`,
    /// `stderr`, `stdout`, `term`, `v` = 1, `wall_ms`. Fuel above `Int64.max` is written as
    /// `Int64.max`.
    public func encoded() -> [UInt8] {
        let value: BencodeValue = [
            "v": .integer(Self.encodingVersion),
            "term": Self.encodeTermination(termination, withReason: true),
            "stdout": .bytes(stdout),
            "stderr": .bytes(stderr),
            "files": DictionaryReader.encodeFiles(outputFiles),
            "fuel": .integer(Int64(clamping: fuelUsed)),
            "cpu_ms": .integer(cpuMilliseconds),
            "wall_ms": .integer(wallMilliseconds),
            "peak_mem": .integer(peakMemoryBytes),
        ]
        return value.encoded()
    }

    /// Decodes a canonical encoding strictly; unknown or missing keys, a wrong version, an
    /// unknown termination or negative figures fail with a reason.
    public init(encoded bytes: [UInt8]) throws(SandboxError) {
        let value = try decodeCanonical(bytes, record: "the outcome", maxLength: Self.maxEncodedBytes)
        let outcome = try DictionaryReader(
            value, record: "outcome",
            allowed: ["v", "term", "stdout", "stderr", "files", "fuel", "cpu_ms", "wall_ms", "peak_mem"])
        let version = try outcome.integer("v")
        guard version == Self.encodingVersion else {
            throw SandboxError(.badEncoding, "outcome.v is \(version); this sandbox reads version \(Self.encodingVersion)")
        }
        let figures = try ["fuel", "cpu_ms", "wall_ms", "peak_mem"].map { key throws(SandboxError) -> Int64 in
            let number = try outcome.integer(key)
            guard number >= 0 else { throw SandboxError(.badEncoding, "outcome.\(key) is negative (\(number))") }
            return number
        }
        self.init(
            termination: try Self.decodeTermination(try outcome.value("term")),
            stdout: try outcome.bytes("stdout"), stderr: try outcome.bytes("stderr"),
            outputFiles: try outcome.files("files"), fuelUsed: UInt64(figures[0]),
            cpuMilliseconds: figures[1], wallMilliseconds: figures[2], peakMemoryBytes: figures[3])
        for name in outputFiles.keys.sorted() {
            do { try GuestJob.validateFileName(name) } catch {
                throw SandboxError(.badEncoding, "outcome.files: \(error.message)")
            }
        }
    }

    /// BLAKE2b-256 of the canonical bencoding of `{files, stdout, term}`, where `term` holds
    /// only `kind` and, for `exited`, `code` (spec 0014 §5.1). Replicas of a job compare it:
    /// stderr, usage figures and free-text reasons are left out because they may differ
    /// between honest machines.
    public var resultDigest: Bytes32 {
        let value: BencodeValue = [
            "term": Self.encodeTermination(termination, withReason: false),
            "stdout": .bytes(stdout),
            "files": DictionaryReader.encodeFiles(outputFiles),
        ]
        return Blake2b.hash256(value.encoded())
    }

    static func encodeTermination(_ termination: GuestTermination, withReason: Bool) -> BencodeValue {
        var entries: [[UInt8]: BencodeValue] = [Array("kind".utf8): BencodeValue(termination.kind)]
        if case .exited(let code) = termination { entries[Array("code".utf8)] = .integer(Int64(code)) }
        if withReason, let reason = termination.reason { entries[Array("reason".utf8)] = BencodeValue(reason) }
        return .dictionary(entries)
    }

    static func decodeTermination(_ value: BencodeValue) throws(SandboxError) -> GuestTermination {
        let term = try DictionaryReader(value, record: "outcome.term", allowed: ["kind", "code", "reason"])
        let kind = try term.text("kind")
        let hasReason = ["trap", "invalidModule", "sandboxFailure"].contains(kind)
        guard term.has("code") == (kind == "exited"), term.has("reason") == hasReason else {
            throw SandboxError(.badEncoding, "outcome.term of kind '\(kind)' has the wrong keys")
        }
        switch kind {
        case "exited":
            let code = try term.integer("code")
            guard let code32 = Int32(exactly: code) else {
                throw SandboxError(.badEncoding, "outcome.term.code \(code) does not fit 32 bits")
            }
            return .exited(code32)
        case "outOfFuel": return .outOfFuel
        case "memoryLimit": return .memoryLimit
        case "deadline": return .deadline
        case "outputLimit": return .outputLimit
        case "trap": return .trap(try term.text("reason"))
        case "invalidModule": return .invalidModule(try term.text("reason"))
        case "sandboxFailure": return .sandboxFailure(try term.text("reason"))
        default: throw SandboxError(.badEncoding, "outcome.term.kind '\(kind)' is unknown")
        }
    }
}
