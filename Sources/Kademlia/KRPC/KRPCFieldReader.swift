// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Bencode

/// Typed, throwing access to the entries of one decoded KRPC dictionary (the message, `a` or `r`).
struct KRPCFieldReader {
    typealias Code = KRPCDecodeError.Code

    let entries: [[UInt8]: BencodeValue]
    /// Where each entry's value sits in `source` (from `decodeDictionaryWithRawValues`).
    let rawRanges: [[UInt8]: Range<Int>]
    /// The bytes the dictionary was decoded from.
    let source: [UInt8]

    subscript(_ key: String) -> BencodeValue? { entries[Array(key.utf8)] }

    /// A reader over the nested dictionary at `key`, with its own raw ranges, or `nil` if the
    /// entry is absent or not a dictionary.
    func nested(_ key: String) throws(KRPCDecodeError) -> KRPCFieldReader? {
        guard case .dictionary = self[key], let range = rawRanges[Array(key.utf8)] else { return nil }
        let inner = Array(source[range])
        do {
            let (value, raw) = try KRPCMessage.bencodeDecoder.decodeDictionaryWithRawValues(inner)
            return KRPCFieldReader(entries: value.dictionary ?? [:], rawRanges: raw, source: inner)
        } catch {
            throw KRPCDecodeError(code: .notBencode, message: "'\(key)' does not re-decode: \(error.message)")
        }
    }

    /// The value's bytes exactly as they appear in `source`.
    func raw(_ key: String) -> [UInt8]? {
        rawRanges[Array(key.utf8)].map { Array(source[$0]) }
    }

    /// A required 20-byte id.
    func id(_ key: String, _ code: Code) throws(KRPCDecodeError) -> NodeID {
        guard let value = self[key] else { throw KRPCDecodeError(code: code, message: "'\(key)' is missing") }
        guard let bytes = value.bytes else { throw KRPCDecodeError(code: code, message: "'\(key)' is not a string") }
        guard let id = NodeID(bytes: bytes) else {
            throw KRPCDecodeError(code: code, message: "'\(key)' is \(bytes.count) bytes, not 20")
        }
        return id
    }

    /// An optional string; present with another type is an error.
    func bytes(_ key: String, _ code: Code = .badField) throws(KRPCDecodeError) -> [UInt8]? {
        guard let value = self[key] else { return nil }
        guard let bytes = value.bytes else { throw KRPCDecodeError(code: code, message: "'\(key)' is not a string") }
        return bytes
    }

    /// An optional string of exactly `length` bytes.
    func bytes(_ key: String, length: Int, _ code: Code) throws(KRPCDecodeError) -> [UInt8]? {
        guard let bytes = try self.bytes(key, code) else { return nil }
        guard bytes.count == length else {
            throw KRPCDecodeError(code: code, message: "'\(key)' is \(bytes.count) bytes, not \(length)")
        }
        return bytes
    }

    /// An optional integer; present with another type is an error.
    func integer(_ key: String, _ code: Code = .badField) throws(KRPCDecodeError) -> Int64? {
        guard let value = self[key] else { return nil }
        guard let integer = value.integer else { throw KRPCDecodeError(code: code, message: "'\(key)' is not an integer") }
        return integer
    }

    /// A required string.
    func requiredBytes(_ key: String, _ code: Code) throws(KRPCDecodeError) -> [UInt8] {
        guard let bytes = try self.bytes(key, code) else { throw KRPCDecodeError(code: code, message: "'\(key)' is missing") }
        return bytes
    }

    /// The entries whose keys are not in `known`.
    func extras(excluding known: Set<[UInt8]>) -> [[UInt8]: BencodeValue] {
        entries.filter { !known.contains($0.key) }
    }

    /// Fixed-size records packed in a string (compact nodes, samples); a trailing partial
    /// record is ignored, as libtorrent does.
    func records<T>(_ key: String, size: Int, _ make: (ArraySlice<UInt8>) -> T?) throws(KRPCDecodeError) -> [T]? {
        guard let bytes = try self.bytes(key) else { return nil }
        return stride(from: 0, through: bytes.count - size, by: size).compactMap { make(bytes[$0..<($0 + size)]) }
    }
}
