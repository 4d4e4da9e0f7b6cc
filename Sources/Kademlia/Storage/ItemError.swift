/// Why a BEP 44 `put` (or a stored item) was refused: the KRPC error code to send back and a
/// message a person can act on.
///
/// The codes are those of BEP 44 ("Errors") and BEP 5 ("Errors"): 203 for a malformed item,
/// 205 for a value over 1000 bytes, 206 for a signature that does not verify, 207 for a salt
/// over 64 bytes, 301 for a compare-and-swap mismatch and 302 for a sequence number older than
/// the stored one. A KRPC error reply is `[code, message]`, so the driver can send both fields
/// as they are.
///
/// Deviations: BEP 44 has no code for "this node will not store more items for you"; Potluck
/// uses BEP 5's 202 (server error) for the per-address limit (`spec/0006-dht-items.md` §4).
public struct ItemError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The KRPC error code (BEP 5, BEP 44).
    public let code: Int
    /// What went wrong and what to do about it.
    public let message: String

    public init(code: Int, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code) \(message)" }

    /// The KRPC error codes used by the item store.
    public enum Code {
        /// BEP 5 "Server Error": used for the per-address storage limit.
        public static let serverError = 202
        /// BEP 5 "Protocol Error": a malformed item (a negative sequence number).
        public static let protocolError = 203
        /// BEP 44 "message (v field) too big".
        public static let valueTooBig = 205
        /// BEP 44 "invalid signature".
        public static let invalidSignature = 206
        /// BEP 44 "salt (salt field) too big".
        public static let saltTooBig = 207
        /// BEP 44 "the CAS hash mismatched, re-read value and try again".
        public static let casMismatch = 301
        /// BEP 44 "sequence number less than current".
        public static let sequenceTooOld = 302
    }
}

extension ItemError {
    static func valueTooBig(_ size: Int) -> ItemError {
        ItemError(
            code: Code.valueTooBig,
            message: "message (v field) too big: the bencoded value is \(size) bytes and BEP 44 allows "
                + "1 to \(ImmutableItem.maxValueLength); store a smaller value, or a hash of the data")
    }

    static func saltTooBig(_ size: Int) -> ItemError {
        ItemError(
            code: Code.saltTooBig,
            message: "salt (salt field) too big: the salt is \(size) bytes and BEP 44 allows at most "
                + "\(MutableItem.maxSaltLength); use a shorter salt, such as a hash of it")
    }

    static func negativeSequence(_ sequence: Int64) -> ItemError {
        ItemError(
            code: Code.protocolError,
            message: "invalid (negative) sequence number \(sequence): BEP 44 sequence numbers start at 0")
    }

    static let invalidSignature = ItemError(
        code: Code.invalidSignature,
        message: "invalid signature: it does not verify for this key over the salt, seq and v; "
            + "re-sign after any change to the value, salt or sequence number")

    static func casMismatch(stored: Int64, expected: Int64) -> ItemError {
        ItemError(
            code: Code.casMismatch,
            message: "the CAS hash mismatched: the stored sequence number is \(stored), not \(expected); "
                + "re-read the value and try again")
    }

    static func sequenceTooOld(_ sequence: Int64, stored: Int64) -> ItemError {
        let what = sequence < stored
            ? "sequence number \(sequence) is older than the stored \(stored)"
            : "sequence number \(sequence) equals the stored one but the value differs"
        return ItemError(
            code: Code.sequenceTooOld,
            message: "sequence number less than current: \(what); put with a sequence number above \(stored)")
    }

    static func addressLimit(_ limit: Int, address: Endpoint.Address) -> ItemError {
        ItemError(
            code: Code.serverError,
            message: "storage limit: this node already keeps \(limit) items put from "
                + "\(Endpoint(address: address, port: 0).addressText); put again after some of them expire")
    }

    static let kindMismatch = ItemError(
        code: Code.protocolError,
        message: "the target already holds an item of the other kind (mutable vs immutable); check the target")
}
