// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// A KRPC transaction id as Potluck issues it: 2 bytes, a big-endian counter (BEP 5 `t`:
/// "typically 2 characters are enough as they cover 2^16 outstanding queries").
///
/// Replies are matched by the exact `t` bytes; ``init(bytes:)`` returns `nil` for anything
/// that is not 2 bytes, which therefore matches no query of ours.
public struct KRPCTransactionID: Sendable, Hashable, CustomStringConvertible {
    /// The counter value.
    public var value: UInt16

    /// The id with the given counter value.
    public init(_ value: UInt16) { self.value = value }

    /// Reads exactly 2 bytes, big-endian; `nil` for any other length.
    /// (Indexes, not `dropFirst()`: a slice of an array retains its storage, once per reply.)
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 2 else { return nil }
        let first = bytes.startIndex
        value = UInt16(bytes[first]) << 8 | UInt16(bytes[bytes.index(after: first)])
    }

    /// The 2 bytes for `t`.
    public var bytes: [UInt8] {
        value < Self.firstIDs.count ? Self.firstIDs[Int(value)] : [UInt8(value >> 8), UInt8(truncatingIfNeeded: value)]
    }

    /// The two bytes of the first 4,096 ids a node issues (``KRPCTransactionIDGenerator``
    /// counts up from 0), built once (200 KB) and shared: a node sends a query at every lookup
    /// step, and a fresh two-byte array for each was a third of all allocations in a simulation.
    private static let firstIDs: [[UInt8]] = (0..<4_096).map { [UInt8($0 >> 8), UInt8(truncatingIfNeeded: $0)] }

    /// `t` and the counter value, e.g. `t4660`.
    public var description: String { "t\(value)" }
}

/// Issues transaction ids from a wrapping counter, skipping ids still outstanding.
///
/// The start is supplied by the node (from its random source) so ids are not predictable
/// across restarts; the generator itself is deterministic.
public struct KRPCTransactionIDGenerator: Sendable {
    /// The most queries that may be outstanding at once: 65,536, every 2-byte id.
    public static let capacity = 1 << 16

    private var next: UInt16

    /// A generator whose first id is `start`.
    public init(start: UInt16 = 0) { next = start }

    /// The next id, whatever is outstanding.
    public mutating func issue() -> KRPCTransactionID {
        defer { next &+= 1 }
        return KRPCTransactionID(next)
    }

    /// The next id for which `isOutstanding` is false, or `nil` if all 65,536 are in use
    /// (the caller must then drop or delay the query).
    public mutating func issue(avoiding isOutstanding: (KRPCTransactionID) -> Bool) -> KRPCTransactionID? {
        for _ in 0..<Self.capacity {
            let candidate = issue()
            if !isOutstanding(candidate) { return candidate }
        }
        return nil
    }
}
