import Bencode
import PotluckCrypto

/// A BEP 44 immutable item: a bencoded value stored under the SHA-1 of its encoding.
///
/// `value` holds the exact bytes of the `v` field as they appeared on the wire (BEP 44:
/// "the target is the SHA-1 hash of the bencoded form of v"), so the target can be recomputed
/// and a `get` answers with the same bytes. The KRPC decoder hands over well-formed bencoding;
/// this type does not re-parse it.
///
/// Deviations: none. Like libtorrent, an empty `v` is refused (205), since it is not bencoding.
public struct ImmutableItem: Sendable, Hashable {
    /// The largest bencoded `v` BEP 44 allows, in bytes ("should be less than 1000 bytes"; like
    /// libtorrent, Potluck accepts exactly 1000).
    public static let maxValueLength = 1000

    /// The bencoded value, byte for byte.
    public let value: [UInt8]
    /// SHA-1 of `value`: where the item lives in the DHT.
    public let target: NodeID

    /// Wraps the bytes of a bencoded value and computes its target.
    public init(value: [UInt8]) {
        self.value = value
        target = NodeID(bytes: SHA1.hash(value))!  // SHA-1 digests are always 20 bytes
    }

    /// Encodes `value` and wraps the encoding.
    public init(encoding value: BencodeValue) {
        self.init(value: value.encoded())
    }

    /// Checks the size limit of BEP 44; throws 205 for an empty or over-long value.
    public func validate() throws(ItemError) {
        try Self.checkValueLength(value.count)
    }

    static func checkValueLength(_ length: Int) throws(ItemError) {
        guard (1...maxValueLength).contains(length) else { throw .valueTooBig(length) }
    }
}
