// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Bencode

/// Typed, throwing access to the entries of one KRPC dictionary (the message, `a` or `r`).
///
/// The dictionary is checked once and its entries located in the datagram
/// (``BencodeDecoder/dictionaryEntries(in:range:)``); keys are then found by comparing bytes
/// (no hashing, no copies) and only the values asked for are decoded. As in lenient decoding,
/// a repeated key's last occurrence wins.
struct KRPCFieldReader {
    typealias Code = KRPCDecodeError.Code

    /// The datagram.
    let source: [UInt8]
    /// The dictionary's entries, in datagram order.
    let entries: [BencodeEntry]

    /// Checks the dictionary at `range` of `source` (all of it by default) and locates its entries.
    init(source: [UInt8], range: Range<Int>? = nil) throws(BencodeError) {
        self.source = source
        entries = try KRPCMessage.bencodeDecoder.dictionaryEntries(in: source, range: range)
    }

    /// Where the value of `key` is encoded, or `nil` if the key is absent.
    func valueRange(_ key: StaticString) -> Range<Int>? {
        source.withUnsafeBufferPointer { bytes in
            entries.last { Self.equal(bytes, $0.key, key) }?.value
        }
    }

    /// The decoded value of `key`.
    subscript(_ key: StaticString) -> BencodeValue? { valueRange(key).flatMap(decodeValue) }

    /// Where the bytes of `key`'s value are, if it is a string.
    func stringRange(_ key: StaticString) -> Range<Int>? {
        guard let range = valueRange(key), ASCII.isDigit(source[range.lowerBound]) else { return nil }
        // The entry was checked: digits, a colon, then the bytes up to the end of the value.
        var colon = range.lowerBound
        while source[colon] != UInt8(ascii: ":") { colon += 1 }
        return (colon + 1)..<range.upperBound
    }

    /// Whether `key` holds a dictionary.
    func isDictionary(_ key: StaticString) -> Bool {
        valueRange(key).map { source[$0.lowerBound] == UInt8(ascii: "d") } ?? false
    }

    /// A reader over the nested dictionary at `key`, or `nil` if the entry is absent or not a dictionary.
    func nested(_ key: StaticString) throws(KRPCDecodeError) -> KRPCFieldReader? {
        guard let range = valueRange(key), source[range.lowerBound] == UInt8(ascii: "d") else { return nil }
        do {
            return try KRPCFieldReader(source: source, range: range)
        } catch {
            throw KRPCDecodeError(code: .notBencode, message: "'\(key)' does not re-decode: \(error.message)")
        }
    }

    /// The value's bytes exactly as they appear in `source`.
    func raw(_ key: StaticString) -> [UInt8]? {
        valueRange(key).map { Array(source[$0]) }
    }

    /// A required 20-byte id.
    func id(_ key: StaticString, _ code: Code) throws(KRPCDecodeError) -> NodeID {
        guard valueRange(key) != nil else { throw KRPCDecodeError(code: code, message: "'\(key)' is missing") }
        guard let bytes = stringRange(key) else {
            throw KRPCDecodeError(code: code, message: "'\(key)' is not a string")
        }
        guard let id = NodeID(bytes: source[bytes]) else {
            throw KRPCDecodeError(code: code, message: "'\(key)' is \(bytes.count) bytes, not 20")
        }
        return id
    }

    /// An optional string; present with another type is an error.
    func bytes(_ key: StaticString, _ code: Code = .badField) throws(KRPCDecodeError) -> [UInt8]? {
        guard valueRange(key) != nil else { return nil }
        guard let bytes = stringRange(key) else { throw KRPCDecodeError(code: code, message: "'\(key)' is not a string") }
        return Array(source[bytes])
    }

    /// An optional string of exactly `length` bytes.
    func bytes(_ key: StaticString, length: Int, _ code: Code) throws(KRPCDecodeError) -> [UInt8]? {
        guard let bytes = try self.bytes(key, code) else { return nil }
        guard bytes.count == length else {
            throw KRPCDecodeError(code: code, message: "'\(key)' is \(bytes.count) bytes, not \(length)")
        }
        return bytes
    }

    /// An optional integer; present with another type is an error.
    func integer(_ key: StaticString, _ code: Code = .badField) throws(KRPCDecodeError) -> Int64? {
        guard let value = self[key] else { return nil }
        guard let integer = value.integer else { throw KRPCDecodeError(code: code, message: "'\(key)' is not an integer") }
        return integer
    }

    /// A required string.
    func requiredBytes(_ key: StaticString, _ code: Code) throws(KRPCDecodeError) -> [UInt8] {
        guard let bytes = try self.bytes(key, code) else { throw KRPCDecodeError(code: code, message: "'\(key)' is missing") }
        return bytes
    }

    /// Whether the bytes of `key` (a string value) are exactly `expected`.
    func string(_ key: StaticString, is expected: StaticString) -> Bool {
        guard let range = stringRange(key) else { return false }
        return source.withUnsafeBufferPointer { Self.equal($0, range, expected) }
    }

    /// The entries whose keys are not in `known`, decoded (a repeated key's last value wins).
    func extras(excluding known: [StaticString]) -> [[UInt8]: BencodeValue] {
        var extras: [[UInt8]: BencodeValue] = [:]
        source.withUnsafeBufferPointer { bytes in
            for entry in entries where !known.contains(where: { Self.equal(bytes, entry.key, $0) }) {
                if let value = decodeValue(entry.value) { extras[Array(bytes[entry.key])] = value }
            }
        }
        return extras
    }

    /// Fixed-size records packed in a string (compact nodes, samples); a trailing partial
    /// record is ignored, as libtorrent does.
    func records<T>(_ key: StaticString, size: Int, _ make: (ArraySlice<UInt8>) -> T?) throws(KRPCDecodeError) -> [T]? {
        guard valueRange(key) != nil else { return nil }
        guard let bytes = stringRange(key) else { throw KRPCDecodeError(code: .badField, message: "'\(key)' is not a string") }
        return stride(from: bytes.lowerBound, through: bytes.upperBound - size, by: size).compactMap {
            make(source[$0..<($0 + size)])
        }
    }

    /// The value encoded at `range` (already checked, so decoding cannot fail).
    private func decodeValue(_ range: Range<Int>) -> BencodeValue? {
        try? KRPCMessage.bencodeDecoder.decode(source[range])
    }

    /// Whether `bytes[range]` equals the UTF-8 of `key`.
    static func equal(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ key: StaticString) -> Bool {
        key.withUTF8Buffer { keyBytes in
            range.count == keyBytes.count && UnsafeBufferPointer(rebasing: bytes[range]).elementsEqual(keyBytes)
        }
    }
}

/// The ASCII digits test, as in the bencode parser.
private enum ASCII {
    static func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }
}
