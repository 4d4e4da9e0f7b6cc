// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import Bencode
import PotluckCrypto

/// Reads the fields of one bencoded record dictionary, naming the field in every error, and
/// refuses keys it was never asked for (`spec/0011-records.md` §1: unknown keys are errors,
/// so that decoding then re-encoding gives back the same bytes).
struct FieldReader {
    private let entries: [[UInt8]: BencodeValue]
    private var used: Set<[UInt8]> = []
    /// "offer" or "receipt", for messages.
    let record: String

    /// Decodes `bytes` strictly (canonical bencode only) as a dictionary.
    init(bytes: [UInt8], record: String, maxLength: Int) throws(RecordError) {
        let value: BencodeValue
        do {
            value = try BencodeDecoder(mode: .strict, maxDepth: 4, maxLength: maxLength).decode(bytes)
        } catch {
            throw RecordError(.malformed, "the \(record) is not canonical bencode: \(error.message)")
        }
        try self.init(value: value, record: record)
    }

    /// Reads the entries of `value`, which must be a dictionary.
    init(value: BencodeValue, record: String) throws(RecordError) {
        guard case .dictionary(let entries) = value else {
            throw RecordError(.malformed, "the \(record) must be a bencoded dictionary")
        }
        self.entries = entries
        self.record = record
    }

    private mutating func take(_ key: String, _ name: String) throws(RecordError) -> BencodeValue {
        guard let value = optional(key) else {
            throw RecordError(.missingField, field: name, "the \(record) has no `\(key)` (\(name)) field")
        }
        return value
    }

    /// The raw value under `key`, if present, marking the key as used.
    mutating func optional(_ key: String) -> BencodeValue? {
        let bytes = Array(key.utf8)
        used.insert(bytes)
        return entries[bytes]
    }

    /// An error about the field `name` (`key` on the wire).
    func invalid(_ key: String, _ name: String, _ problem: String) -> RecordError {
        RecordError(.invalidValue, field: name, "the \(record)'s `\(key)` (\(name)) \(problem)")
    }

    /// An integer field within `range`.
    mutating func integer(_ key: String, _ name: String, in range: ClosedRange<Int64>) throws(RecordError) -> Int64 {
        try integer(value: take(key, name), key, name, in: range)
    }

    /// Checks that `value` is an integer within `range`.
    func integer(value: BencodeValue, _ key: String, _ name: String, in range: ClosedRange<Int64>) throws(RecordError) -> Int64 {
        guard case .integer(let number) = value else {
            throw RecordError(.wrongType, field: name, "the \(record)'s `\(key)` (\(name)) must be an integer")
        }
        guard range.contains(number) else {
            throw invalid(key, name, "is \(number); it must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return number
    }

    /// A byte-string field of exactly `count` bytes.
    mutating func bytes(_ key: String, _ name: String, count: Int) throws(RecordError) -> [UInt8] {
        let bytes = try bytes(value: take(key, name), key, name)
        guard bytes.count == count else {
            throw invalid(key, name, "is \(bytes.count) bytes; it must be exactly \(count)")
        }
        return bytes
    }

    /// A byte-string field of any length.
    mutating func bytes(_ key: String, _ name: String) throws(RecordError) -> [UInt8] {
        try bytes(value: take(key, name), key, name)
    }

    /// Checks that `value` is a byte string.
    func bytes(value: BencodeValue, _ key: String, _ name: String) throws(RecordError) -> [UInt8] {
        guard case .bytes(let bytes) = value else {
            throw RecordError(.wrongType, field: name, "the \(record)'s `\(key)` (\(name)) must be a byte string")
        }
        return bytes
    }

    /// A 32-byte ed25519 public key field.
    mutating func key(_ key: String, _ name: String) throws(RecordError) -> PublicKey {
        let bytes = try bytes(key, name, count: 32)
        do { return try PublicKey(bytes: bytes) } catch {
            throw invalid(key, name, "is not an ed25519 public key: \(error.message)")
        }
    }

    /// A list field (possibly empty) with at most `maxCount` elements.
    mutating func list(_ key: String, _ name: String, maxCount: Int) throws(RecordError) -> [BencodeValue] {
        guard case .list(let items) = try take(key, name) else {
            throw RecordError(.wrongType, field: name, "the \(record)'s `\(key)` (\(name)) must be a list")
        }
        guard items.count <= maxCount else {
            throw invalid(key, name, "has \(items.count) entries; at most \(maxCount) are allowed")
        }
        return items
    }

    /// Refuses any key that was not read.
    func finish() throws(RecordError) {
        for key in entries.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) where !used.contains(key) {
            let text = String(decoding: key, as: UTF8.self)
            throw RecordError(.unknownField, field: text,
                "the \(record) has an unknown key `\(text)`; this is format version 1, which defines no such field")
        }
    }
}
