/// CRC-32C (Castagnoli), the checksum BEP 42 uses to tie a node id to an IP address.
///
/// Reflected polynomial `0x82F63B78` (RFC 3720 §B.4), initial value and final XOR `0xFFFFFFFF`,
/// computed a byte at a time from a 256-entry table. BEP 42 only ever hashes 4 or 8 bytes, so a
/// table-driven loop is plenty; no hardware path is needed for a deterministic core.
public enum CRC32C {
    /// The reflected Castagnoli polynomial.
    public static let polynomial: UInt32 = 0x82F6_3B78

    /// `table[b]` is the CRC register after shifting byte `b` through eight rounds.
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? (value >> 1) ^ polynomial : value >> 1 }
        return value
    }

    /// The CRC-32C of `bytes` (`checksum("123456789".utf8) == 0xE3069283`).
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
        }
        return crc ^ 0xFFFF_FFFF
    }
}
