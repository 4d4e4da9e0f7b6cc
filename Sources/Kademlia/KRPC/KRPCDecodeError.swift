// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// Why a datagram is not an acceptable KRPC message (spec 0005 §5).
///
/// `code` is stable and meant for programs (the test vectors use its raw value); `message`
/// names the offending key for people. When the datagram was a query whose transaction id
/// could be read, ``transactionID`` holds it, so the node can answer with ``errorReply``
/// (BEP 5 error 203, "Protocol Error"); otherwise it is `nil` and the datagram is dropped.
///
/// Deviations: BEP 5 does not say how a reader classifies malformed messages; these codes
/// are Potluck's own.
public struct KRPCDecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable, machine-readable reason; the raw value is the constant's name.
    public struct Code: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
        /// The code's name, e.g. `"badTarget"` (what the test vectors use).
        public let rawValue: String
        /// The code with the given name; unknown names match no decoder error.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The code's name.
        public var description: String { rawValue }

        /// Longer than ``KRPCMessage/maxDatagramLength``.
        public static let tooLong = Code(rawValue: "tooLong")
        /// Not bencode (even leniently), or nested deeper than ``KRPCMessage/maxDepth``.
        public static let notBencode = Code(rawValue: "notBencode")
        /// Bencode, but not a dictionary.
        public static let notDictionary = Code(rawValue: "notDictionary")
        /// `t` missing or not a string.
        public static let missingTransactionID = Code(rawValue: "missingTransactionID")
        /// `y` missing, or not the string `q`, `r` or `e`.
        public static let badMessageType = Code(rawValue: "badMessageType")
        /// A query whose `q` is missing or not a string.
        public static let missingMethod = Code(rawValue: "missingMethod")
        /// A query whose `a` is missing or not a dictionary.
        public static let missingArguments = Code(rawValue: "missingArguments")
        /// A response whose `r` is missing or not a dictionary.
        public static let missingResponse = Code(rawValue: "missingResponse")
        /// An error whose `e` is missing or not a list.
        public static let missingError = Code(rawValue: "missingError")
        /// `id` missing or not a 20-byte string.
        public static let badNodeID = Code(rawValue: "badNodeID")
        /// `target` missing or not a 20-byte string (find_node, get, sample_infohashes).
        public static let badTarget = Code(rawValue: "badTarget")
        /// `info_hash` missing or not a 20-byte string (get_peers, announce_peer).
        public static let badInfoHash = Code(rawValue: "badInfoHash")
        /// announce_peer `port` missing (without `implied_port`), not an integer, or out of 0…65535.
        public static let badPort = Code(rawValue: "badPort")
        /// `token` missing (announce_peer, put) or not a string.
        public static let badToken = Code(rawValue: "badToken")
        /// put without `v`.
        public static let missingValue = Code(rawValue: "missingValue")
        /// put with `k` not 32 bytes, `sig` not 64 bytes, `seq` missing or not an integer,
        /// `salt` not a string or `cas` not an integer; or `sig`/`seq`/`salt`/`cas` without `k`.
        public static let badMutableItem = Code(rawValue: "badMutableItem")
        /// Any other known key with the wrong type (the message names it).
        public static let badField = Code(rawValue: "badField")
    }

    /// Why the datagram was rejected.
    public var code: Code
    /// What is wrong, naming the key.
    public var message: String
    /// The query's transaction id, when the datagram was a query and `t` could be read.
    public var transactionID: [UInt8]?

    /// An error with the given parts.
    public init(code: Code, message: String, transactionID: [UInt8]? = nil) {
        self.code = code
        self.message = message
        self.transactionID = transactionID
    }

    /// The BEP 5 203 "Protocol Error" reply to send, when the datagram was a query.
    public var errorReply: KRPCMessage? {
        transactionID.map { KRPCMessage.errorReply(to: $0, code: KRPCErrorMessage.protocolError, message: message) }
    }

    /// `code: message`.
    public var description: String { "\(code): \(message)" }
}
