// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// Why some bytes are not an acceptable BEP 3 bencoded value, and where.
///
/// `code` is stable and meant for programs (spec §6 lists every code); `message` is a
/// sentence meant for people; `offset` is the byte offset into the input where the
/// problem was found. For `unexpectedEnd` the offset is the length of the input.
///
/// Deviations: BEP 3 does not say how a reader reports malformed input; these codes and
/// offsets are Potluck's own (spec §6) and are pinned down by the test vectors.
public struct BencodeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable, machine-readable reason. The raw value is the name of the constant,
    /// e.g. `"leadingZero"`, and is what the test vectors use.
    public struct Code: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
        /// The code's name, e.g. `"unsortedKeys"`.
        public let rawValue: String

        /// The code with the given name. Unknown names make codes that match no decoder error.
        public init(rawValue: String) {
            self.rawValue = rawValue
        }

        /// The raw value.
        public var description: String { rawValue }

        /// The input ended in the middle of a value.
        public static let unexpectedEnd = Code(rawValue: "unexpectedEnd")
        /// A byte that cannot start or continue a value at this point.
        public static let unexpectedByte = Code(rawValue: "unexpectedByte")
        /// An integer or string length written with a leading zero (strict mode).
        public static let leadingZero = Code(rawValue: "leadingZero")
        /// The integer `i-0e` (strict mode).
        public static let negativeZero = Code(rawValue: "negativeZero")
        /// An integer outside the range of `Int64`.
        public static let integerOverflow = Code(rawValue: "integerOverflow")
        /// An integer with no digits, such as `ie` or `i-e`.
        public static let emptyInteger = Code(rawValue: "emptyInteger")
        /// A dictionary key that sorts before the previous key (strict mode).
        public static let unsortedKeys = Code(rawValue: "unsortedKeys")
        /// A dictionary key equal to the previous key (strict mode).
        public static let duplicateKey = Code(rawValue: "duplicateKey")
        /// A dictionary key that is an integer, list or dictionary.
        public static let nonStringKey = Code(rawValue: "nonStringKey")
        /// A dictionary ended right after a key, with no value for it.
        public static let missingValue = Code(rawValue: "missingValue")
        /// Lists and dictionaries nested deeper than `maxDepth`.
        public static let tooDeep = Code(rawValue: "tooDeep")
        /// The input (or the value, for `decodePrefix`) is longer than `maxLength`.
        public static let tooLong = Code(rawValue: "tooLong")
        /// A string claims more bytes than `maxStringLength`.
        public static let stringTooLong = Code(rawValue: "stringTooLong")
        /// Bytes follow a complete value where the whole input had to be one value.
        public static let trailingBytes = Code(rawValue: "trailingBytes")
        /// The top-level value is not a dictionary where one was required.
        public static let notDictionary = Code(rawValue: "notDictionary")
    }

    /// The machine-readable reason.
    public let code: Code
    /// The byte offset in the input where the problem is.
    public let offset: Int
    /// A sentence a person can act on.
    public let message: String

    /// An error with the given code, offset and message.
    public init(code: Code, offset: Int, message: String) {
        self.code = code
        self.offset = offset
        self.message = message
    }

    /// `"bencode: <message> at byte <offset>"`.
    public var description: String {
        "bencode: \(message) at byte \(offset)"
    }
}
