// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import Bencode
import PotluckCrypto

extension Offer {
    /// The canonical encoding (`spec/0011-records.md` §2.1): a bencoded dictionary with sorted
    /// keys, checked against every bound and against BEP 44's 1000 bytes.
    public func encoded() throws(RecordError) -> [UInt8] {
        try validate()
        var entries: [[UInt8]: BencodeValue] = [
            Array("c".utf8): .integer(Int64(cores)),
            Array("e".utf8): .bytes(Array(endpoint.utf8)),
            Array("i".utf8): .integer(idleOnly ? 1 : 0),
            Array("k".utf8): .bytes(lender.bytes),
            Array("m".utf8): .integer(memoryBytes),
            Array("p".utf8): [
                "a": .list(policy.allowed.map { .bytes($0.bytes) }),
                "d": .list(policy.denied.map { .bytes($0.bytes) }),
                "f": .integer(Int64(policy.friendCount)),
            ],
            Array("r".utf8): .list(runtimes.map { .bytes(Array($0.utf8)) }),
            Array("v".utf8): .integer(Self.formatVersion),
            Array("w".utf8): .list(windows.map { .bytes(Array($0.description.utf8)) }),
            Array("x".utf8): .integer(expiry),
        ]
        if !tools.isEmpty {
            entries[Array("t".utf8)] = .dictionary(Dictionary(uniqueKeysWithValues: tools.map { (Array($0.key.utf8), .bytes(Array($0.value.utf8))) }))
        }
        if let busySince { entries[Array("b".utf8)] = .integer(busySince) }
        if let coordinates {
            entries[Array("n".utf8)] = .bytes(coordinates.flatMap(Self.bigEndianBytes))
        }
        let bytes = BencodeValue.dictionary(entries).encoded()
        guard bytes.count <= Self.maxEncodedLength else {
            throw RecordError(.tooLarge,
                "the offer encodes to \(bytes.count) bytes; BEP 44 allows \(Self.maxEncodedLength): "
                    + "shorten the endpoint or list fewer runtimes, windows or keys")
        }
        return bytes
    }

    /// Decodes and validates a canonical offer; the error names the field at fault.
    public init(encoded bytes: [UInt8]) throws(RecordError) {
        guard bytes.count <= Self.maxEncodedLength else {
            throw RecordError(.tooLarge, "the offer is \(bytes.count) bytes; BEP 44 allows \(Self.maxEncodedLength)")
        }
        var reader = try FieldReader(bytes: bytes, record: "offer", maxLength: Self.maxEncodedLength)
        let version = try reader.integer("v", "version", in: 0...Int64.max)
        guard version == Self.formatVersion else {
            throw RecordError(.unsupportedVersion, field: "version",
                "the offer is format version \(version); this implementation reads version 1 only")
        }
        let lender = try reader.key("k", "lender")
        let cores = try reader.integer("c", "cores", in: 1...Int64(Self.maxCores))
        let memory = try reader.integer("m", "memoryBytes", in: 0...Self.maxMemoryBytes)
        let runtimes = try reader.list("r", "runtimes", maxCount: Self.maxRuntimes).map {
            (item) throws(RecordError) in
            try String(decoding: reader.bytes(value: item, "r", "runtimes"), as: UTF8.self)
        }
        let tools = try Self.decodeTools(&reader)
        let windows = try Self.decodeWindows(&reader)
        let idle = try reader.integer("i", "idleOnly", in: 0...1)
        var busySince: Int64?
        if let value = reader.optional("b") { busySince = try reader.integer(value: value, "b", "busySince", in: 1...Int64.max) }
        let policy = try Self.decodePolicy(&reader)
        let endpoint = try reader.bytes("e", "endpoint")
        guard let endpointText = String(validating: endpoint, as: UTF8.self) else {
            throw reader.invalid("e", "endpoint", "is not UTF-8 text")
        }
        let coordinates = try Self.decodeCoordinates(&reader)
        let expiry = try reader.integer("x", "expiry", in: 1...Int64.max)
        try reader.finish()
        self.init(
            lender: lender, cores: Int(cores), memoryBytes: memory, runtimes: runtimes, tools: tools,
            windows: windows, idleOnly: idle == 1, busySince: busySince, policy: policy, endpoint: endpointText,
            coordinates: coordinates, expiry: expiry)
        try validate()
        // Sets must arrive sorted and without repeats: one offer, one encoding.
        guard try encoded() == bytes else {
            throw RecordError(.invalidValue,
                "the offer's lists are not sorted or repeat an entry; runtimes, windows and keys must be sorted and unique")
        }
    }

    private static func decodeTools(_ reader: inout FieldReader) throws(RecordError) -> [String: String] {
        guard let value = reader.optional("t") else { return [:] }
        guard case .dictionary(let entries) = value, !entries.isEmpty else {
            throw reader.invalid("t", "tools", "is not a non-empty dictionary of tool name to version")
        }
        var tools: [String: String] = [:]
        for (name, version) in entries {
            guard case .bytes(let bytes) = version, let text = String(validating: bytes, as: UTF8.self),
                  let key = String(validating: name, as: UTF8.self) else {
                throw reader.invalid("t", "tools", "holds an entry that is not UTF-8 name → UTF-8 version")
            }
            tools[key] = text
        }
        return tools
    }

    private static func decodeWindows(_ reader: inout FieldReader) throws(RecordError) -> [TimeWindow] {
        var windows: [TimeWindow] = []
        for item in try reader.list("w", "windows", maxCount: maxWindows) {
            let text = try String(decoding: reader.bytes(value: item, "w", "windows"), as: UTF8.self)
            guard let window = TimeWindow(text) else {
                throw reader.invalid("w", "windows", "holds \"\(text)\"; write HH:MM-HH:MM (UTC) with a start different from the end")
            }
            windows.append(window)
        }
        return windows
    }

    private static func decodePolicy(_ reader: inout FieldReader) throws(RecordError) -> OfferPolicy {
        guard let value = reader.optional("p") else {
            throw RecordError(.missingField, field: "policy", "the offer has no `p` (policy) field")
        }
        var inner = try FieldReader(value: value, record: "offer policy")
        func keys(_ key: String, _ name: String) throws(RecordError) -> [PublicKey] {
            try inner.list(key, name, maxCount: OfferPolicy.maxKeys).map { (item) throws(RecordError) in
                let bytes = try inner.bytes(value: item, key, name)
                guard bytes.count == 32, let key = try? PublicKey(bytes: bytes) else {
                    throw inner.invalid(key, name, "holds an entry that is not a 32-byte ed25519 key")
                }
                return key
            }
        }
        let allowed = try keys("a", "allowed"), denied = try keys("d", "denied")
        let friends = try inner.integer("f", "friendCount", in: 0...1_000_000)
        try inner.finish()
        return OfferPolicy(allowed: allowed, denied: denied, friendCount: Int(friends))
    }

    private static func decodeCoordinates(_ reader: inout FieldReader) throws(RecordError) -> [Double]? {
        guard let value = reader.optional("n") else { return nil }
        let bytes = try reader.bytes(value: value, "n", "coordinates")
        guard bytes.count % 8 == 0 else {
            throw reader.invalid("n", "coordinates", "is \(bytes.count) bytes; it must be 8 bytes per number")
        }
        return stride(from: 0, to: bytes.count, by: 8).map { start in
            Double(bitPattern: bytes[start..<start + 8].reduce(0) { $0 << 8 | UInt64($1) })
        }
    }

    static func bigEndianBytes(_ value: Double) -> [UInt8] {
        let bits = value.bitPattern
        return (0..<8).map { UInt8(truncatingIfNeeded: bits >> (56 - 8 * UInt64($0))) }
    }

    /// Checks every bound of §2.2; the error names the field.
    public func validate() throws(RecordError) {
        func bad(_ field: String, _ problem: String) -> RecordError {
            RecordError(.invalidValue, field: field, "the offer's \(field) \(problem)")
        }
        guard (1...Self.maxCores).contains(cores) else { throw bad("cores", "is \(cores); lend 1 to \(Self.maxCores) cores") }
        guard (0...Self.maxMemoryBytes).contains(memoryBytes) else {
            throw bad("memoryBytes", "is \(memoryBytes); it must be 0 to 2^50 bytes")
        }
        guard (1...Self.maxRuntimes).contains(runtimes.count) else {
            throw bad("runtimes", "has \(runtimes.count) entries; name 1 to \(Self.maxRuntimes) runtimes, such as wasm32-wasi")
        }
        for runtime in runtimes where !Self.isRuntimeName(runtime) {
            throw bad("runtimes", "holds \"\(runtime)\"; a runtime is 1 to 32 of a-z, 0-9, '.', '_', '-'")
        }
        guard tools.count <= Self.maxTools else { throw bad("tools", "has \(tools.count) entries; lend at most \(Self.maxTools) tools") }
        for (name, version) in tools {
            guard Self.isToolName(name) else {
                throw bad("tools", "holds \"\(name)\"; a tool name is 1 to 32 of a-z, A-Z, 0-9, '.', '_', '+', '-', not starting with '.' or '-'")
            }
            guard version.utf8.count <= Self.maxToolVersionLength, !version.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }) else {
                throw bad("tools", "gives \(name) a version that is not up to \(Self.maxToolVersionLength) bytes of plain text")
            }
        }
        guard tools.isEmpty || runtimes.contains(Self.nativeRuntime) else {
            throw bad("tools", "are lent without the runtime \(Self.nativeRuntime)")
        }
        guard windows.count <= Self.maxWindows else { throw bad("windows", "has more than \(Self.maxWindows) entries") }
        guard policy.allowed.count <= OfferPolicy.maxKeys, policy.denied.count <= OfferPolicy.maxKeys else {
            throw bad("policy", "lists more than \(OfferPolicy.maxKeys) allowed or denied keys; publish a summary")
        }
        guard (0...1_000_000).contains(policy.friendCount) else { throw bad("policy", "has a friend count out of 0 to 1000000") }
        let endpointBytes = Array(endpoint.utf8)
        guard (1...Self.maxEndpointLength).contains(endpointBytes.count),
            !endpointBytes.contains(where: { $0 < 0x20 || $0 == 0x7f })
        else { throw bad("endpoint", "must be 1 to \(Self.maxEndpointLength) bytes of text without control characters") }
        if let coordinates {
            guard (1...Self.maxCoordinates).contains(coordinates.count), coordinates.allSatisfy(\.isFinite) else {
                throw bad("coordinates", "must be 1 to \(Self.maxCoordinates) finite numbers, or absent")
            }
        }
        if let busySince {
            guard idleOnly else { throw bad("busySince", "is given, but only an idle-only lender says when its machine became busy") }
            guard busySince > 0 else { throw bad("busySince", "is \(busySince); it must be a positive Unix time in seconds") }
        }
        guard expiry > 0 else { throw bad("expiry", "is \(expiry); it must be a positive Unix time in seconds") }
    }

    /// Whether `name` can name a lent tool (`spec/0019-native-jobs.md` §1).
    public static func isToolName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...32).contains(bytes.count), bytes[0] != 0x2e, bytes[0] != 0x2d else { return false }
        return bytes.allSatisfy { byte in
            (0x61...0x7a).contains(byte) || (0x41...0x5a).contains(byte) || (0x30...0x39).contains(byte)
                || byte == 0x2e || byte == 0x5f || byte == 0x2b || byte == 0x2d
        }
    }

    static func isRuntimeName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        return (1...32).contains(bytes.count) && bytes.allSatisfy { byte in
            (0x61...0x7a).contains(byte) || (0x30...0x39).contains(byte) || byte == 0x2e || byte == 0x5f || byte == 0x2d
        }
    }
}
