// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// Decodes BEP 3 bencoded bytes into `BencodeValue`s, within limits (spec §4–§5).
///
/// The decoder never traps, never recurses, and never allocates more than the input
/// could hold, whatever bytes it is given: malformed input always ends in a
/// `BencodeError`.
///
/// Deviations: BEP 3 requires dictionary keys in sorted order and integers without
/// leading zeros or `-0`, but sets no limits. Potluck adds limits on input length,
/// string length and nesting depth (spec §5), bounds integers to `Int64`, and offers a
/// lenient mode that accepts the common deviations of other implementations (§4.2).
public struct BencodeDecoder: Sendable {
    /// How much of BEP 3 to enforce.
    public enum Mode: Sendable {
        /// Only canonical encodings (spec §4.1): what Potluck writes and signs.
        case strict
        /// Also unsorted or repeated keys, leading zeros and `-0` (spec §4.2): what
        /// other implementations sometimes send. A repeated key's last value wins.
        case lenient
    }

    /// Strict or lenient.
    public var mode: Mode
    /// The most lists and dictionaries that may be open at once. Default 32.
    ///
    /// Keep this in the hundreds at most: decoded values are destroyed, compared and
    /// encoded recursively.
    public var maxDepth: Int
    /// The most input bytes accepted (for `decodePrefix`, the most bytes one value may
    /// span). Default 1 MiB.
    public var maxLength: Int
    /// The longest string accepted. Defaults to `maxLength`.
    public var maxStringLength: Int

    /// A decoder with the given mode and limits; `maxStringLength` is set to `maxLength`.
    public init(mode: Mode = .strict, maxDepth: Int = 32, maxLength: Int = 1 << 20) {
        self.mode = mode
        self.maxDepth = maxDepth
        self.maxLength = maxLength
        self.maxStringLength = maxLength
    }

    /// Decodes `bytes`, which must hold exactly one BEP 3 value and nothing after it.
    public func decode(_ bytes: some Collection<UInt8>) throws(BencodeError) -> BencodeValue {
        let count = bytes.count
        if count > maxLength { throw tooLong(count) }
        let result = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(BencodeError) in try decodeWhole(buffer) }
        }
        if let result { return try result.get() }
        return try Array(bytes).withUnsafeBufferPointer { buffer in
            Result { () throws(BencodeError) in try decodeWhole(buffer) }
        }.get()
    }

    /// Decodes one BEP 3 value at the start of `bytes` and reports how many bytes it
    /// used; whatever follows is left alone (useful for streams).
    ///
    /// `maxLength` bounds the value, not `bytes`: only the first `maxLength` bytes are
    /// examined, and a value that does not end within them fails with `tooLong`.
    public func decodePrefix(
        _ bytes: [UInt8]
    ) throws(BencodeError) -> (value: BencodeValue, consumed: Int) {
        let result = bytes.withUnsafeBufferPointer { whole in
            Result { () throws(BencodeError) in
                let limit = max(0, min(whole.count, maxLength))
                var parser = makeParser(UnsafeBufferPointer(rebasing: whole[..<limit]))
                do throws(BencodeError) {
                    let value = try parser.parseValue()
                    return (value, parser.position)
                } catch where error.code == .unexpectedEnd && whole.count > limit {
                    throw tooLong(whole.count)
                }
            }
        }
        return try result.get()
    }

    /// Decodes `bytes`, which must hold exactly one BEP 3 dictionary, and also reports
    /// where each of its entries' values sits in `bytes`.
    ///
    /// BEP 44 signs and hashes the bencoded `v` exactly as received, so a verifier needs
    /// those bytes rather than a re-encoding: `bytes[raw[Array("v".utf8)]!]`. Only the
    /// top-level dictionary's entries are reported; in lenient mode a repeated key
    /// reports the range of its last occurrence, matching the decoded value.
    public func decodeDictionaryWithRawValues(
        _ bytes: [UInt8]
    ) throws(BencodeError) -> (value: BencodeValue, raw: [[UInt8]: Range<Int>]) {
        if bytes.count > maxLength { throw tooLong(bytes.count) }
        guard let first = bytes.first else {
            throw BencodeError(
                code: .unexpectedEnd, offset: 0,
                message: "the input is empty; expected a dictionary")
        }
        guard first == ASCII.d else {
            throw BencodeError(
                code: .notDictionary, offset: 0,
                message: "the input is not a dictionary; it must start with 'd'")
        }
        let result = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(BencodeError) in
                var parser = makeParser(buffer, recordsRawValues: true)
                let value = try parser.parseValue()
                try checkNothingFollows(parser.position, count: buffer.count)
                return (value, parser.rawValues)
            }
        }
        return try result.get()
    }

    // MARK: - Internals

    private func decodeWhole(_ buffer: UnsafeBufferPointer<UInt8>) throws(BencodeError) -> BencodeValue {
        var parser = makeParser(buffer)
        let value = try parser.parseValue()
        try checkNothingFollows(parser.position, count: buffer.count)
        return value
    }

    func makeParser(
        _ buffer: UnsafeBufferPointer<UInt8>, recordsRawValues: Bool = false
    ) -> Parser {
        Parser(
            input: buffer, strict: mode == .strict, maxDepth: maxDepth,
            maxStringLength: maxStringLength, recordsRawValues: recordsRawValues)
    }

    func checkNothingFollows(_ position: Int, count: Int) throws(BencodeError) {
        guard position == count else {
            throw BencodeError(
                code: .trailingBytes, offset: position,
                message: "\(count - position) byte(s) follow a complete value; "
                    + "the input must hold exactly one value (use decodePrefix for streams)")
        }
    }

    func tooLong(_ count: Int) -> BencodeError {
        BencodeError(
            code: .tooLong, offset: max(0, maxLength),
            message: "the input is longer than the \(maxLength)-byte limit (\(count) bytes); "
                + "raise maxLength if it is legitimate")
    }
}
