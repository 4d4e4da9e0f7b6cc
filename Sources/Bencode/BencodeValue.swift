// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// One bencoded value, as defined by BEP 3 ("The BitTorrent Protocol Specification",
/// section "bencoding"). See `spec/0001-bencode.md` for Potluck's normative rules.
///
/// BEP 3 defines four kinds of value: integers, byte strings, lists and dictionaries.
/// This type is a pure value: it holds no reference to the input it was decoded from.
///
/// Deviations: BEP 3 puts no bound on integers; Potluck limits them to `Int64`
/// (spec §2.2). BEP 3 calls byte strings "strings"; they are arbitrary bytes here, and
/// only the `string` accessor interprets them as UTF-8.
///
/// Values nested thousands of levels deep can exhaust the stack when they are encoded,
/// compared or destroyed, because those operations recurse. Values produced by
/// `BencodeDecoder` are bounded by its `maxDepth`.
public enum BencodeValue: Sendable, Hashable {
    /// A BEP 3 integer (`i42e`), limited to the range of `Int64`.
    case integer(Int64)
    /// A BEP 3 string (`4:spam`): arbitrary bytes, not necessarily UTF-8.
    case bytes([UInt8])
    /// A BEP 3 list (`l…e`).
    case list([BencodeValue])
    /// A BEP 3 dictionary (`d…e`). Keys are raw byte strings; on the wire they are
    /// written sorted as raw bytes (BEP 3: "Keys must be strings and appear in sorted
    /// order (sorted as raw strings, not alphanumerics)").
    case dictionary([[UInt8]: BencodeValue])
}

extension BencodeValue {
    /// A byte string holding the UTF-8 encoding of `string` (BEP 3 "string").
    public init(_ string: String) {
        self = .bytes(Array(string.utf8))
    }

    /// The integer, or `nil` if this value is not a BEP 3 integer.
    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// The raw bytes, or `nil` if this value is not a BEP 3 string.
    public var bytes: [UInt8]? {
        if case .bytes(let value) = self { return value }
        return nil
    }

    /// The bytes decoded as UTF-8, or `nil` if this value is not a BEP 3 string or its
    /// bytes are not valid UTF-8.
    ///
    /// Deviations: BEP 3 does not say strings are text; many are binary (node ids,
    /// hashes, compact addresses). Use `bytes` for those.
    public var string: String? {
        guard case .bytes(let value) = self else { return nil }
        return String(validating: value, as: UTF8.self)
    }

    /// The elements, or `nil` if this value is not a BEP 3 list.
    public var list: [BencodeValue]? {
        if case .list(let value) = self { return value }
        return nil
    }

    /// The entries, or `nil` if this value is not a BEP 3 dictionary.
    public var dictionary: [[UInt8]: BencodeValue]? {
        if case .dictionary(let value) = self { return value }
        return nil
    }

    /// Looks up a BEP 3 dictionary entry by the UTF-8 bytes of `key`.
    ///
    /// Returns `nil` if the key is absent or this value is not a dictionary.
    public subscript(key: String) -> BencodeValue? {
        guard case .dictionary(let entries) = self else { return nil }
        return entries[Array(key.utf8)]
    }
}

extension BencodeValue: ExpressibleByStringLiteral {
    /// A BEP 3 string holding the UTF-8 bytes of the literal.
    public init(stringLiteral value: String) {
        self.init(value)
    }
}

/// Interpolated literals such as `"node-\(index)"` also make BEP 3 strings (UTF-8).
extension BencodeValue: ExpressibleByStringInterpolation {}

extension BencodeValue: ExpressibleByIntegerLiteral {
    /// A BEP 3 integer.
    public init(integerLiteral value: Int64) {
        self = .integer(value)
    }
}

extension BencodeValue: ExpressibleByArrayLiteral {
    /// A BEP 3 list of the given elements, in order.
    public init(arrayLiteral elements: BencodeValue...) {
        self = .list(elements)
    }
}

extension BencodeValue: ExpressibleByDictionaryLiteral {
    /// A BEP 3 dictionary whose keys are the UTF-8 bytes of the given strings.
    ///
    /// Deviations: unlike `Dictionary`'s literal, a repeated key does not trap; the
    /// last occurrence wins.
    public init(dictionaryLiteral elements: (String, BencodeValue)...) {
        var entries: [[UInt8]: BencodeValue] = [:]
        entries.reserveCapacity(elements.count)
        for (key, value) in elements {
            entries[Array(key.utf8)] = value
        }
        self = .dictionary(entries)
    }
}
