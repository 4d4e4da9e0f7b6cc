// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Bencode
import Coordinates

/// One KRPC message of the Mainline DHT (BEP 5, "KRPC Protocol"): a bencoded dictionary sent
/// in one UDP datagram, with a transaction id (`t`), a type (`y`) and a query, a response or an
/// error. See `spec/0005-krpc.md` for Potluck's normative rules.
///
/// The top-level extension keys this type understands are `v` (client version, BEP 5),
/// `ro` (read-only node, BEP 43) and `ip` (the receiver's endpoint as the sender sees it,
/// BEP 42), and Potluck's `plc` (the sender's Vivaldi coordinate, spec 0013 §4), held typed in
/// ``coordinate`` so that a message passed without encoding (the simulator) carries it without
/// building a bencode list. Any other top-level key is kept in ``extensions`` so that it
/// survives a round trip.
///
/// Deviations: BEP 5 fixes no size limit; Potluck rejects datagrams longer than
/// ``maxDatagramLength`` or nested deeper than ``maxDepth``. Top-level keys starting with `pl`
/// are reserved for Potluck's own extensions (spec §6).
public struct KRPCMessage: Sendable, Equatable {
    /// What the message is: BEP 5 `y` is `q`, `r` or `e`.
    public enum Kind: Sendable, Equatable {
        /// `y = "q"`: a query (`q` names the method, `a` holds the arguments).
        case query(Query)
        /// `y = "r"`: a response (`r` holds the return values).
        case response(Response)
        /// `y = "e"`: an error (`e` is `[code, message]`).
        case error(KRPCErrorMessage)
    }

    /// BEP 5 `t`: chosen by the querier and echoed by the responder. Any length is accepted;
    /// Potluck sends 2 bytes (see ``KRPCTransactionID``).
    public var transactionID: [UInt8]
    /// Query, response or error.
    public var kind: Kind
    /// BEP 5 `v`: the sender's client version (two letters and two version bytes by convention).
    public var clientVersion: [UInt8]?
    /// BEP 43 `ro`: the sender is read-only and must not be added to routing tables.
    public var readOnly: Bool
    /// BEP 42 `ip`: the endpoint of the *receiver* of this message, as the sender sees it.
    public var senderIP: Endpoint?
    /// Potluck's `plc`: the sender's Vivaldi coordinate and error (spec 0013 §4); `nil` when
    /// absent or malformed (a malformed one is ignored, like any optional key).
    public var coordinate: VivaldiReport?
    /// Top-level keys that this type does not understand, kept as decoded. Keys it does
    /// understand (`t y q a r e v ro ip plc`) are never stored here and are ignored when encoding.
    public var extensions: [[UInt8]: BencodeValue]

    /// A message with the given parts.
    public init(
        transactionID: [UInt8], kind: Kind, clientVersion: [UInt8]? = nil, readOnly: Bool = false,
        senderIP: Endpoint? = nil, coordinate: VivaldiReport? = nil, extensions: [[UInt8]: BencodeValue] = [:]
    ) {
        self.transactionID = transactionID
        self.kind = kind
        self.clientVersion = clientVersion
        self.readOnly = readOnly
        self.senderIP = senderIP
        self.coordinate = coordinate
        self.extensions = extensions
    }

    /// The longest datagram ``decode(_:)`` accepts: 2048 bytes.
    ///
    /// Deviations: BEP 5 sets no limit. The largest legitimate message, a BEP 44 `put` with a
    /// 1000-byte `v`, a 64-byte salt and a long token, stays well below 1500 bytes (one
    /// Ethernet MTU); the headroom is for other implementations' extension keys.
    public static let maxDatagramLength = 2048

    /// The deepest nesting of lists and dictionaries ``decode(_:)`` accepts: 32 (a message
    /// itself uses 3 levels; the rest is for BEP 44 values and extensions).
    public static let maxDepth = 32

    /// The prefix reserved for Potluck's own top-level and argument keys (spec §6), e.g.
    /// `plk` (the sender's ed25519 key) and `plc` (Vivaldi coordinates).
    public static let reservedExtensionPrefix: [UInt8] = Array("pl".utf8)

    /// The top-level keys this type reads and writes itself.
    static let knownTopLevelKeys: Set<[UInt8]> = Set(knownTopLevelKeyNames.map { $0.withUTF8Buffer { Array($0) } })

    /// ``knownTopLevelKeys`` as names, for comparing with bytes in place.
    static let knownTopLevelKeyNames: [StaticString] = ["t", "y", "q", "a", "r", "e", "v", "ro", "ip", "plc"]

    /// The key of ``coordinate`` (spec 0013 §4).
    public static let coordinateKey: [UInt8] = Array("plc".utf8)

    /// An error reply (BEP 5 "Errors") echoing `transactionID`.
    public static func errorReply(to transactionID: [UInt8], code: Int, message: String) -> KRPCMessage {
        KRPCMessage(transactionID: transactionID, kind: .error(KRPCErrorMessage(code: code, message: message)))
    }

    /// An error reply with the standard message for `code` (see ``KRPCErrorMessage/standard(_:)``).
    public static func errorReply(to transactionID: [UInt8], code: Int) -> KRPCMessage {
        KRPCMessage(transactionID: transactionID, kind: .error(.standard(code)))
    }
}

/// The body of a KRPC error (BEP 5 "Errors"): `e` is a list of an integer code and a string.
///
/// Codes 201–204 are BEP 5's; 205–207, 301 and 302 are BEP 44's.
///
/// Deviations: a message that is not valid UTF-8 is decoded with replacement characters.
/// A missing or non-integer code is read as 201 and a missing message as "" (liberal accept).
public struct KRPCErrorMessage: Sendable, Equatable, CustomStringConvertible {
    /// The numeric error code.
    public var code: Int
    /// A human-readable explanation.
    public var message: String

    /// An error with the given code and message.
    public init(code: Int, message: String) {
        self.code = code
        self.message = message
    }

    /// 201, BEP 5 "Generic Error".
    public static let generic = 201
    /// 202, BEP 5 "Server Error".
    public static let server = 202
    /// 203, BEP 5 "Protocol Error, such as a malformed packet, invalid arguments, or bad token".
    public static let protocolError = 203
    /// 204, BEP 5 "Method Unknown".
    public static let methodUnknown = 204
    /// 205, BEP 44 "message (v field) too big".
    public static let messageTooBig = 205
    /// 206, BEP 44 "invalid signature".
    public static let invalidSignature = 206
    /// 207, BEP 44 "salt (salt field) too big".
    public static let saltTooBig = 207
    /// 301, BEP 44 "the CAS hash mismatched, re-read value and try again".
    public static let casMismatch = 301
    /// 302, BEP 44 "sequence number less than current".
    public static let sequenceTooLow = 302

    /// The error with `code` and the message its BEP gives it ("Error \(code)" if none does).
    public static func standard(_ code: Int) -> KRPCErrorMessage {
        let text: String = switch code {
        case generic: "Generic Error"
        case server: "Server Error"
        case protocolError: "Protocol Error"
        case methodUnknown: "Method Unknown"
        case messageTooBig: "message (v field) too big"
        case invalidSignature: "invalid signature"
        case saltTooBig: "salt (salt field) too big"
        case casMismatch: "the CAS hash mismatched, re-read value and try again"
        case sequenceTooLow: "sequence number less than current"
        default: "Error \(code)"
        }
        return KRPCErrorMessage(code: code, message: text)
    }

    /// `code message`, e.g. `201 Generic Error`.
    public var description: String { "\(code) \(message)" }
}
