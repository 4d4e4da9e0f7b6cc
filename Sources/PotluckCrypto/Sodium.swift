import CSodium

/// One-time libsodium initialisation.
///
/// `sodium_init()` picks the fastest implementation of each primitive for this CPU and seeds
/// the random generator; it is safe to call from several threads, and Swift's lazy globals run
/// it exactly once. Every public entry point of this module touches ``Sodium/ready`` first.
enum Sodium {
    static let ready: Void = {
        precondition(sodium_init() >= 0, "libsodium could not be initialised")
    }()
}

/// Cryptographically secure random bytes from libsodium (`randombytes_buf`).
public enum SecureRandom {
    /// `count` random bytes.
    public static func bytes(_ count: Int) -> [UInt8] {
        _ = Sodium.ready
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, $0.count) }
        return out
    }

    /// A uniformly random 64-bit value.
    public static func uint64() -> UInt64 {
        _ = Sodium.ready
        var value: UInt64 = 0
        withUnsafeMutableBytes(of: &value) { randombytes_buf($0.baseAddress!, $0.count) }
        return value
    }
}
