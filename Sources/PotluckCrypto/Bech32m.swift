/// Bech32m (BIP 350, built on BIP 173's bech32): a human-readable prefix, the separator `1`,
/// data in a 32-character alphabet without look-alikes, and a 6-character checksum that detects
/// any error in up to 4 characters. Potluck uses it for peer ids (`spec/0002-identity.md`).
///
/// Deviations: BIP 173 caps a string at 90 characters for Bitcoin addresses; Potluck allows up
/// to ``maxLength`` characters, as the checksum's guarantees hold to 1023.
public enum Bech32m {
    /// The longest string accepted.
    public static let maxLength = 120

    private static let alphabet = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)
    private static let reverse: [Int8] = {
        var table = [Int8](repeating: -1, count: 128)
        for (index, char) in alphabet.enumerated() { table[Int(char)] = Int8(index) }
        return table
    }()
    private static let constant: UInt32 = 0x2bc8_30a3

    /// Encodes `data` (bytes) under the lower-case prefix `hrp`.
    public static func encode(hrp: String, data: [UInt8]) -> String {
        let values = regroup(data, from: 8, to: 5, pad: true)!
        let checksum = makeChecksum(hrp: Array(hrp.utf8), values: values)
        let chars = (values + checksum).map { alphabet[Int($0)] }
        return hrp + "1" + String(decoding: chars, as: UTF8.self)
    }

    /// Decodes a bech32m string; throws with the reason when the text is not valid bech32m.
    public static func decode(_ text: String) throws(CryptoError) -> (hrp: String, data: [UInt8]) {
        let utf8 = Array(text.utf8)
        guard utf8.count <= maxLength else { throw invalid("is longer than \(maxLength) characters") }
        let hasLower = utf8.contains { (97...122).contains($0) }, hasUpper = utf8.contains { (65...90).contains($0) }
        guard !(hasLower && hasUpper) else { throw invalid("mixes upper and lower case") }
        let lowered = utf8.map { (65...90).contains($0) ? $0 + 32 : $0 }
        guard let separator = lowered.lastIndex(of: UInt8(ascii: "1")), separator >= 1,
              lowered.count - separator - 1 >= 6 else {
            throw invalid("has no prefix, '1' separator and checksum")
        }
        let hrp = Array(lowered[..<separator])
        guard hrp.allSatisfy({ (33...126).contains($0) }) else { throw invalid("has a prefix with invalid characters") }
        var values: [UInt8] = []
        for char in lowered[(separator + 1)...] {
            guard char < 128, reverse[Int(char)] >= 0 else {
                throw invalid("contains '\(Character(Unicode.Scalar(char)))', which is not in the bech32 alphabet")
            }
            values.append(UInt8(reverse[Int(char)]))
        }
        guard polymod(expand(hrp) + values) == constant else {
            throw invalid("has a wrong checksum (a typo?)")
        }
        guard let data = regroup(Array(values.dropLast(6)), from: 5, to: 8, pad: false) else {
            throw invalid("has padding bits that are not zero")
        }
        return (String(decoding: hrp, as: UTF8.self), data)
    }

    private static func invalid(_ reason: String) -> CryptoError {
        CryptoError(.invalidEncoding, "not a valid bech32m string: it \(reason)")
    }

    private static func polymod(_ values: [UInt8]) -> UInt32 {
        let generator: [UInt32] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3]
        var check: UInt32 = 1
        for value in values {
            let top = check >> 25
            check = (check & 0x1ff_ffff) << 5 ^ UInt32(value)
            for bit in 0..<5 where (top >> UInt32(bit)) & 1 == 1 { check ^= generator[bit] }
        }
        return check
    }

    private static func expand(_ hrp: [UInt8]) -> [UInt8] {
        hrp.map { $0 >> 5 } + [0] + hrp.map { $0 & 31 }
    }

    private static func makeChecksum(hrp: [UInt8], values: [UInt8]) -> [UInt8] {
        let mod = polymod(expand(hrp) + values + [0, 0, 0, 0, 0, 0]) ^ constant
        return (0..<6).map { UInt8((mod >> (5 * (5 - UInt32($0)))) & 31) }
    }

    /// Regroups bits (8 → 5 to encode, 5 → 8 to decode); `nil` when decoding finds non-zero
    /// padding or a leftover group of 5 bits or more.
    private static func regroup(_ data: [UInt8], from: Int, to: Int, pad: Bool) -> [UInt8]? {
        var accumulator = 0, bits = 0, out: [UInt8] = []
        let maxValue = (1 << to) - 1
        for value in data {
            accumulator = (accumulator << from) | Int(value)
            bits += from
            while bits >= to {
                bits -= to
                out.append(UInt8((accumulator >> bits) & maxValue))
            }
        }
        if pad {
            if bits > 0 { out.append(UInt8((accumulator << (to - bits)) & maxValue)) }
        } else if bits >= from || (accumulator << (to - bits)) & maxValue != 0 {
            return nil
        }
        return out
    }
}
