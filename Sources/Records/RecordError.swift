// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// Why an offer or a receipt was refused, which field is at fault, and what to do about it
/// (`spec/0011-records.md` §5).
///
/// `code` is stable and meant for programs (the test vectors name it); `field` is the record
/// field at fault (`nil` when the fault is not one field's, such as a fork); `message` is a
/// sentence meant for people that says what to change.
public struct RecordError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable, machine-readable reason, written in kebab case (`"end-before-start"`).
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// The code's text, as in the vectors.
        public let rawValue: String
        /// The code with the given text.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The raw value.
        public var description: String { rawValue }

        /// The bytes are not canonical bencode (BEP 3, strict mode) or not a dictionary.
        public static let malformed = Code(rawValue: "malformed")
        /// A required field is absent.
        public static let missingField = Code(rawValue: "missing-field")
        /// A field has the wrong bencode type (an integer where bytes were expected, …).
        public static let wrongType = Code(rawValue: "wrong-type")
        /// A field has the right type but a value out of its range or syntax.
        public static let invalidValue = Code(rawValue: "invalid-value")
        /// A key this format version does not define.
        public static let unknownField = Code(rawValue: "unknown-field")
        /// The encoding is longer than the format allows (1000 bytes for a BEP 44 value).
        public static let tooLarge = Code(rawValue: "too-large")
        /// A format version this implementation does not know.
        public static let unsupportedVersion = Code(rawValue: "unsupported-version")
        /// The provider's signature does not verify but the consumer's does.
        public static let badProviderSignature = Code(rawValue: "bad-provider-signature")
        /// The consumer's signature does not verify but the provider's does.
        public static let badConsumerSignature = Code(rawValue: "bad-consumer-signature")
        /// Neither signature verifies: the signed fields were changed after signing.
        public static let tampered = Code(rawValue: "tampered")
        /// `end` is before `start`.
        public static let endBeforeStart = Code(rawValue: "end-before-start")
        /// The provider and the consumer are the same key.
        public static let sameParty = Code(rawValue: "same-party")
        /// This very receipt (same id) is already known.
        public static let replayed = Code(rawValue: "replayed")
        /// A different receipt with the same provider, consumer and sequence number is known.
        public static let forked = Code(rawValue: "forked")
        /// Only one party signed: the receipt is pending and never counted.
        public static let incomplete = Code(rawValue: "incomplete")
    }

    /// The machine-readable reason.
    public let code: Code
    /// The record field at fault, by its Swift name (`"cores"`, `"end"`), if one is.
    public let field: String?
    /// What went wrong and what to do, for people.
    public let message: String

    /// An error with the given reason, field and message.
    public init(_ code: Code, field: String? = nil, _ message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
