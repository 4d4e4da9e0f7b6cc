// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Bencode
import PotluckCrypto

extension NativeTask {
    /// The encoding version this code writes and accepts.
    static let encodingVersion: Int64 = 1

    /// The canonical bencoding (spec 0019 §3): a dictionary with keys `args` (list of byte
    /// strings), `disk` (bytes), `inputs` (dictionary name → 32-byte digest), `limits`
    /// (`core_ms`, `memory`, `output`, `wall_ms`, as for wasm jobs), `tool` and `v` = 1.
    public func encoded() -> [UInt8] {
        let value: BencodeValue = [
            "v": .integer(Self.encodingVersion),
            "tool": BencodeValue(tool),
            "args": .list(arguments.map { BencodeValue($0) }),
            "inputs": .dictionary(Dictionary(uniqueKeysWithValues: inputs.map { (Array($0.key.utf8), BencodeValue.bytes($0.value.bytes)) })),
            "disk": .integer(diskBytes),
            "limits": limits.encodedValue(),
        ]
        return value.encoded()
    }

    /// Decodes a canonical encoding strictly and validates the task; every failure names the
    /// key at fault.
    public init(encoded bytes: [UInt8]) throws(SandboxError) {
        let value = try decodeCanonical(bytes, record: "the task", maxLength: Bounds.encodedBytes)
        let task = try DictionaryReader(value, record: "task", allowed: ["v", "tool", "args", "inputs", "disk", "limits"])
        let version = try task.integer("v")
        guard version == Self.encodingVersion else {
            throw SandboxError(.badEncoding, "task.v is \(version); this sandbox reads version \(Self.encodingVersion)")
        }
        let arguments = try task.texts("args")
        var inputs: [String: Bytes32] = [:]
        for (name, bytes) in try task.files("inputs") {
            guard let digest = Bytes32(bytes) else {
                throw SandboxError(.badEncoding, "task.inputs['\(name)'] is not a 32-byte digest")
            }
            inputs[name] = digest
        }
        self.init(tool: try task.text("tool"), arguments: arguments, inputs: inputs,
                  limits: try JobLimits(decoding: try task.value("limits"), record: "task.limits"), diskBytes: try task.integer("disk"))
        try validate()
    }
}
