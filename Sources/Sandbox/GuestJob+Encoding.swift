// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Bencode

extension GuestJob {
    /// The encoding version this code writes and accepts.
    static let encodingVersion: Int64 = 1

    /// The canonical bencoding (spec 0014 §2): a dictionary with keys `args` (list of byte
    /// strings), `files` (dictionary name → bytes), `limits` (dictionary: `core_ms`, `memory`,
    /// `output`, `wall_ms`), `module`, `stdin` and `v` = 1. Seconds are written as whole
    /// milliseconds, rounded to nearest.
    public func encoded() -> [UInt8] {
        let value: BencodeValue = [
            "v": .integer(Self.encodingVersion),
            "module": .bytes(module),
            "args": .list(arguments.map { BencodeValue($0) }),
            "stdin": .bytes(stdin),
            "files": DictionaryReader.encodeFiles(inputFiles),
            "limits": limits.encodedValue(),
        ]
        return value.encoded()
    }

    /// Decodes a canonical encoding strictly and validates the job: non-canonical bencoding,
    /// unknown or missing keys, a wrong version, or out-of-range values all fail with a reason.
    public init(encoded bytes: [UInt8]) throws(SandboxError) {
        let value = try decodeCanonical(bytes, record: "the job", maxLength: Bounds.encodedBytes)
        let job = try DictionaryReader(value, record: "job", allowed: ["v", "module", "args", "stdin", "files", "limits"])
        let version = try job.integer("v")
        guard version == Self.encodingVersion else {
            throw SandboxError(.badEncoding, "job.v is \(version); this sandbox reads version \(Self.encodingVersion)")
        }
        let arguments = try job.texts("args")
        let limits = try JobLimits(decoding: try job.value("limits"), record: "job.limits")
        self.init(
            module: try job.bytes("module"), arguments: arguments, stdin: try job.bytes("stdin"),
            inputFiles: try job.files("files"), limits: limits)
        try validate()
    }

    static func milliseconds(_ seconds: Double) -> Int64 {
        let value = (seconds * 1000).rounded()
        guard value.isFinite else { return value > 0 ? Int64.max : 0 }
        return Int64(max(-9.2e18, min(9.2e18, value)))
    }
}

extension JobLimits {
    /// The `limits` dictionary of jobs and native tasks: `core_ms`, `memory`, `output`, `wall_ms`.
    func encodedValue() -> BencodeValue {
        [
            "core_ms": .integer(GuestJob.milliseconds(coreSeconds)),
            "memory": .integer(memoryBytes),
            "wall_ms": .integer(GuestJob.milliseconds(wallSeconds)),
            "output": .integer(Int64(outputBytes)),
        ]
    }

    /// Reads a `limits` dictionary strictly (the ranges are checked by `validate()`).
    init(decoding value: BencodeValue, record: String) throws(SandboxError) {
        let reader = try DictionaryReader(value, record: record, allowed: ["core_ms", "memory", "wall_ms", "output"])
        let output = try reader.integer("output")
        guard output >= 0, output <= Int64(JobLimits.Range.outputBytes.upperBound) else {
            throw SandboxError(.invalidJob, "\(record).output is \(output); it must be within \(JobLimits.Range.outputBytes)")
        }
        self.init(coreSeconds: Double(try reader.integer("core_ms")) / 1000, memoryBytes: try reader.integer("memory"),
                  wallSeconds: Double(try reader.integer("wall_ms")) / 1000, outputBytes: Int(output))
    }
}
