// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import Bencode
import PotluckCrypto

extension Receipt {
    /// The longest receipt encoding accepted (a complete one is about 330 bytes).
    public static let maxEncodedLength = 1000

    /// The stored and published form (`spec/0011-records.md` §3.6): `d 1:b <body> 1:c <consumer
    /// signature> 1:p <provider signature> e`, a signature omitted when absent.
    public func encoded() -> [UInt8] {
        var entries: [[UInt8]: BencodeValue] = [Array("b".utf8): body.value]
        if let consumerSignature { entries[Array("c".utf8)] = .bytes(consumerSignature.bytes) }
        if let providerSignature { entries[Array("p".utf8)] = .bytes(providerSignature.bytes) }
        return BencodeValue.dictionary(entries).encoded()
    }

    /// Decodes the stored form; checks the structure and the body's figures, not the signatures
    /// (call `validate()` or give it to a `ReceiptLedger`).
    public init(encoded bytes: [UInt8]) throws(RecordError) {
        var reader = try FieldReader(bytes: bytes, record: "receipt", maxLength: Self.maxEncodedLength)
        guard let bodyValue = reader.optional("b") else {
            throw RecordError(.missingField, field: "body", "the receipt has no `b` (body) field")
        }
        let body = try ReceiptBody(value: bodyValue)
        let consumer = try Self.signature(&reader, "c", "consumerSignature")
        let provider = try Self.signature(&reader, "p", "providerSignature")
        try reader.finish()
        self.init(body: body, providerSignature: provider, consumerSignature: consumer)
    }

    private static func signature(_ reader: inout FieldReader, _ key: String, _ name: String) throws(RecordError) -> Signature? {
        guard let value = reader.optional(key) else { return nil }
        let bytes = try reader.bytes(value: value, key, name)
        guard bytes.count == 64, let signature = try? Signature(bytes: bytes) else {
            throw reader.invalid(key, name, "is \(bytes.count) bytes; an ed25519 signature is 64")
        }
        return signature
    }
}

extension ReceiptBody {
    /// Reads a body dictionary (§3.1) and checks its figures.
    public init(value: BencodeValue) throws(RecordError) {
        var reader = try FieldReader(value: value, record: "receipt body")
        let version = try reader.integer("v", "version", in: 0...Int64.max)
        guard version == Self.formatVersion else {
            throw RecordError(.unsupportedVersion, field: "version",
                "the receipt is format version \(version); this implementation reads version 1 only")
        }
        let provider = try reader.key("p", "provider"), consumer = try reader.key("c", "consumer")
        let digest = try reader.bytes("j", "jobDigest", count: 32)
        let all = 0...Int64.max
        self.init(
            provider: provider, consumer: consumer, jobDigest: Bytes32(digest)!,
            coreMilliseconds: try reader.integer("u", "coreMilliseconds", in: all),
            memoryByteSeconds: try reader.integer("m", "memoryByteSeconds", in: all),
            start: try reader.integer("s", "start", in: all), end: try reader.integer("e", "end", in: all),
            sequence: try reader.integer("n", "sequence", in: 1...Int64.max),
            relayedBytes: try Self.relayedBytes(&reader))
        try reader.finish()
        try validate()
    }

    /// `r`, present only when positive: 0 has one encoding, without the key.
    private static func relayedBytes(_ reader: inout FieldReader) throws(RecordError) -> Int64 {
        guard let value = reader.optional("r") else { return 0 }
        return try reader.integer(value: value, "r", "relayedBytes", in: 1...Int64.max)
    }
}
