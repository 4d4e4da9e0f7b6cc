// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// One entry of a BEP 3 dictionary, located in the input instead of decoded: where the key's
/// bytes are (without their length prefix) and where the value's whole encoding is.
///
/// Readers of small, known-shape messages (KRPC) use this to look keys up without hashing
/// and to decode only the values they need.
public struct BencodeEntry: Sendable, Hashable {
    /// Where the key's bytes are in the input.
    public var key: Range<Int>
    /// Where the value's encoding (e.g. `i42e`, `4:spam`, `d…e`) is in the input.
    public var value: Range<Int>

    /// An entry with the given ranges.
    public init(key: Range<Int>, value: Range<Int>) {
        self.key = key
        self.value = value
    }
}

extension BencodeDecoder {
    /// Checks that `bytes[range]` holds exactly one BEP 3 dictionary and lists its entries in
    /// input order, without decoding any value. Ranges are offsets into `bytes`.
    ///
    /// It accepts and rejects exactly what ``decodeDictionaryWithRawValues(_:)`` does on
    /// `Array(bytes[range])`, with the same error codes and messages (offsets count from the
    /// start of `bytes`). Unlike that method, repeated keys (lenient mode) are all listed:
    /// the decoded dictionary would keep the last one. `range` defaults to all of `bytes`.
    public func dictionaryEntries(
        in bytes: [UInt8], range: Range<Int>? = nil
    ) throws(BencodeError) -> [BencodeEntry] {
        let range = range ?? 0..<bytes.count
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count, "range outside the bytes")
        if range.count > maxLength { throw tooLong(range.count) }
        guard range.lowerBound < range.upperBound else {
            throw BencodeError(
                code: .unexpectedEnd, offset: range.lowerBound,
                message: "the input is empty; expected a dictionary")
        }
        guard bytes[range.lowerBound] == ASCII.d else {
            throw BencodeError(
                code: .notDictionary, offset: range.lowerBound,
                message: "the input is not a dictionary; it must start with 'd'")
        }
        let result = bytes.withUnsafeBufferPointer { whole in
            Result { () throws(BencodeError) in
                // The parser sees the input up to the end of `range` and starts at its start,
                // so every offset it reports is an offset into `bytes`.
                var parser = makeParser(UnsafeBufferPointer(rebasing: whole[..<range.upperBound]))
                parser.position = range.lowerBound
                let entries = try parser.scanDictionary()
                try checkNothingFollows(parser.position, count: range.upperBound)
                return entries
            }
        }
        return try result.get()
    }
}
