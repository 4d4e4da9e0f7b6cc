// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// Why a job or an outcome could not be accepted, or the sandbox could not do its work.
///
/// `code` is stable and meant for programs; `message` is a sentence meant for people.
public struct SandboxError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, machine-readable reason.
    public struct Code: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
        /// The code's name, e.g. `"badEncoding"`.
        public let rawValue: String
        /// The code with the given name.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The raw value.
        public var description: String { rawValue }

        /// The bytes are not a canonical bencoding of the expected shape (spec 0014 §2, §5).
        public static let badEncoding = Code(rawValue: "badEncoding")
        /// A well-formed job whose names, sizes or limits are out of range (spec 0014 §3).
        public static let invalidJob = Code(rawValue: "invalidJob")
        /// The module does not begin with WebAssembly's preamble: it is some other file.
        public static let notWebAssembly = Code(rawValue: "notWebAssembly")
        /// The host could not set up or run the sandbox (files, processes, pipes).
        public static let hostFailure = Code(rawValue: "hostFailure")
    }

    /// A stable reason for programs.
    public let code: Code
    /// A sentence a person can act on.
    public let message: String

    /// An error with the given code and message.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
