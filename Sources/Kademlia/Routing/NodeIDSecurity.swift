/// The DHT security extension of BEP 42: a node id is tied to the node's external IP address.
///
/// The first 21 bits of a compliant id equal the first 21 bits of
/// `crc32c((ip & mask) | (r << s))`, where `r = id[19] & 7` (the low three bits of the id's last
/// byte), and for IPv4 `ip` is the 32-bit address, `mask = 0x030f3fff`, `s = 29`, the CRC taken
/// over 4 big-endian bytes; for IPv6 `ip` is the high 64 bits, `mask = 0x0103070f1f3f7fff`,
/// `s = 61`, over 8 bytes. Each address therefore owns 8 of the 2²¹ id prefixes, and an attacker's
/// share of the key space grows with the number of addresses it controls, not linearly with a
/// block of them. Peers on local addresses are exempt (BEP 42, "Enforcement").
///
/// Deviations: BEP 42 lists only IPv4 local blocks as exempt. Potluck, like libtorrent, also
/// exempts IPv6 loopback (`::1`), link-local (`fe80::/10`), deprecated site-local (`fec0::/10`) and
/// unique-local (`fc00::/7`) addresses. `makeID` applies the formula even to exempt addresses
/// (the result is as good as any other id there).
public enum NodeIDSecurity {
    /// The IPv4 mask: fewer bits of the high octets count, so one /8 yields few prefixes.
    public static let ipv4Mask: UInt32 = 0x030F_3FFF
    /// The IPv6 mask, applied to the high 64 bits of the address.
    public static let ipv6Mask: UInt64 = 0x0103_070F_1F3F_7FFF

    /// The CRC32C of the masked address with `r` (0…7) in its top three bits: the value whose
    /// first 21 bits a compliant id must start with.
    public static func prefixHash(for address: Endpoint.Address, r: UInt8) -> UInt32 {
        precondition(r < 8, "BEP 42 r is in 0...7")
        switch address {
        case .v4(let ip):
            let value = (ip & ipv4Mask) | UInt32(r) << 29
            return CRC32C.checksum((0..<4).map { UInt8(truncatingIfNeeded: value >> UInt32(24 - 8 * $0)) })
        case .v6(let high, _):
            let value = (high & ipv6Mask) | UInt64(r) << 61
            return CRC32C.checksum((0..<8).map { UInt8(truncatingIfNeeded: value >> UInt64(56 - 8 * $0)) })
        }
    }

    /// A compliant id for `address` whose last byte is `rand` (BEP 42 uses `r = rand & 7`) and
    /// whose unconstrained bits — bits 21…151 — are taken from `filler`.
    ///
    /// With `filler` set to a published example id this reproduces that id exactly, which is how
    /// the test vectors are checked.
    public static func makeID(for address: Endpoint.Address, rand: UInt8, filler: NodeID) -> NodeID {
        let hash = prefixHash(for: address, r: rand & 7)
        let top = UInt64(hash & 0xFFFF_F800) << 32            // 21 bits from the CRC
        let keptHigh = filler.high & 0x0000_07FF_FFFF_FFFF     // the other 43 bits of bytes 0–7
        let low = (filler.low & 0xFFFF_FF00) | UInt32(rand)    // byte 19 is `rand`
        return NodeID(high: top | keptHigh, middle: filler.middle, low: low)
    }

    /// A compliant id for `address` with `rand` and all free bits drawn from `random`.
    public static func makeID(for address: Endpoint.Address, using random: inout some RandomNumberGenerator) -> NodeID {
        let filler = NodeID.random(using: &random)
        return makeID(for: address, rand: UInt8(truncatingIfNeeded: random.next() as UInt64), filler: filler)
    }

    /// Whether `id` is compliant for a node seen at `address`: exempt addresses always are;
    /// otherwise the id's first 21 bits must match ``prefixHash(for:r:)`` with `r = id[19] & 7`.
    public static func isValid(_ id: NodeID, for address: Endpoint.Address) -> Bool {
        if isExempt(address) { return true }
        let hash = prefixHash(for: address, r: UInt8(truncatingIfNeeded: id.low) & 7)
        return UInt32(truncatingIfNeeded: id.high >> 32) & 0xFFFF_F800 == hash & 0xFFFF_F800
    }

    /// Whether `address` is a public one: neither exempt (local) nor unspecified.
    public static func isPublic(_ address: Endpoint.Address) -> Bool {
        let unspecified = switch address {
        case .v4(let ip): ip == 0
        case .v6(let high, let low): high == 0 && low == 0
        }
        return !unspecified && !isExempt(address)
    }

    /// Whether `address` is on a local network and so exempt from verification: IPv4 `10/8`,
    /// `172.16/12`, `192.168/16`, `169.254/16`, `127/8` (BEP 42); IPv6 `::1`, `fe80::/10`,
    /// `fec0::/10`, `fc00::/7` (libtorrent's choice, see Deviations above).
    public static func isExempt(_ address: Endpoint.Address) -> Bool {
        switch address {
        case .v4(let ip):
            return ip & 0xFF00_0000 == 0x0A00_0000 || ip & 0xFFF0_0000 == 0xAC10_0000
                || ip & 0xFFFF_0000 == 0xC0A8_0000 || ip & 0xFFFF_0000 == 0xA9FE_0000
                || ip & 0xFF00_0000 == 0x7F00_0000
        case .v6(let high, let low):
            let top16 = high >> 48
            return (high == 0 && low == 1) || top16 & 0xFFC0 == 0xFE80 || top16 & 0xFFC0 == 0xFEC0
                || top16 & 0xFE00 == 0xFC00
        }
    }
}
