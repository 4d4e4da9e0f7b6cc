// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

extension BencodeValue {
    /// The canonical BEP 3 encoding of this value (spec §3).
    ///
    /// Integers are written in shortest decimal form (no leading zeros, never `-0`),
    /// string lengths likewise, and dictionary keys in ascending raw-byte order (BEP 3:
    /// "sorted as raw strings, not alphanumerics"). Decoding the result with a strict
    /// `BencodeDecoder` gives back an equal value, provided the limits allow it.
    public func encoded() -> [UInt8] {
        var buffer: [UInt8] = []
        encode(into: &buffer)
        return buffer
    }

    /// Appends the canonical BEP 3 encoding of this value to `buffer` (spec §3).
    public func encode(into buffer: inout [UInt8]) {
        switch self {
        case .integer(let value):
            buffer.append(ASCII.i)
            if value < 0 { buffer.append(ASCII.minus) }
            appendDecimal(value.magnitude, to: &buffer)
            buffer.append(ASCII.e)
        case .bytes(let value):
            appendString(value, to: &buffer)
        case .list(let elements):
            buffer.append(ASCII.l)
            for element in elements {
                element.encode(into: &buffer)
            }
            buffer.append(ASCII.e)
        case .dictionary(let entries):
            buffer.append(ASCII.d)
            let keys = entries.keys.sorted { $0.lexicographicallyPrecedes($1) }
            for key in keys {
                appendString(key, to: &buffer)
                // The key came from `entries`, so the lookup cannot fail.
                entries[key]?.encode(into: &buffer)
            }
            buffer.append(ASCII.e)
        }
    }
}

/// Appends `<length>:<bytes>`.
private func appendString(_ bytes: [UInt8], to buffer: inout [UInt8]) {
    appendDecimal(UInt64(bytes.count), to: &buffer)
    buffer.append(ASCII.colon)
    buffer.append(contentsOf: bytes)
}

/// Pieces of canonical BEP 3 encoding, for encoders that write a known layout straight into
/// one buffer (keys already in order) instead of building a ``BencodeValue``.
public enum BencodeWriter {
    /// Appends the string `<length>:<bytes>`.
    public static func appendString(_ bytes: some Collection<UInt8>, to buffer: inout [UInt8]) {
        appendStringHeader(length: bytes.count, to: &buffer)
        buffer.append(contentsOf: bytes)
    }

    /// Appends the string `<length>:<bytes>` (non-generic: callers in other modules need no
    /// specialisation).
    public static func appendString(_ bytes: [UInt8], to buffer: inout [UInt8]) {
        appendStringHeader(length: bytes.count, to: &buffer)
        buffer.append(contentsOf: bytes)
    }

    /// Appends the string `<length>:<bytes>` (non-generic, as above).
    public static func appendString(_ bytes: UnsafeBufferPointer<UInt8>, to buffer: inout [UInt8]) {
        appendStringHeader(length: bytes.count, to: &buffer)
        buffer.append(contentsOf: bytes)
    }

    /// Appends the UTF-8 of `text` as a string (for keys and other literals).
    public static func appendString(_ text: StaticString, to buffer: inout [UInt8]) {
        text.withUTF8Buffer { appendString($0, to: &buffer) }
    }

    /// Appends `<length>:`; the caller appends exactly `length` bytes next.
    public static func appendStringHeader(length: Int, to buffer: inout [UInt8]) {
        appendDecimal(UInt64(length), to: &buffer)
        buffer.append(ASCII.colon)
    }

    /// Appends the integer `i<value>e` in shortest form.
    public static func appendInteger(_ value: Int64, to buffer: inout [UInt8]) {
        buffer.append(ASCII.i)
        if value < 0 { buffer.append(ASCII.minus) }
        appendDecimal(value.magnitude, to: &buffer)
        buffer.append(ASCII.e)
    }
}

/// Appends the shortest decimal form of `value` without allocating a `String`.
private func appendDecimal(_ value: UInt64, to buffer: inout [UInt8]) {
    if value < 10 {
        buffer.append(ASCII.zero + UInt8(truncatingIfNeeded: value))
        return
    }
    var digitCount = 1
    var rest = value
    while rest >= 10 {
        rest /= 10
        digitCount += 1
    }
    let start = buffer.count
    buffer.append(contentsOf: repeatElement(ASCII.zero, count: digitCount))
    var index = start + digitCount - 1
    rest = value
    repeat {
        buffer[index] = ASCII.zero + UInt8(truncatingIfNeeded: rest % 10)
        rest /= 10
        index -= 1
    } while rest > 0
}

/// The ASCII bytes bencoding is made of.
enum ASCII {
    static let i: UInt8 = 0x69
    static let l: UInt8 = 0x6C
    static let d: UInt8 = 0x64
    static let e: UInt8 = 0x65
    static let minus: UInt8 = 0x2D
    static let colon: UInt8 = 0x3A
    static let zero: UInt8 = 0x30
    static let nine: UInt8 = 0x39

    @inline(__always)
    static func isDigit(_ byte: UInt8) -> Bool {
        byte &- zero < 10
    }
}
