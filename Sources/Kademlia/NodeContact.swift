/// A DHT node as others know it: its id and where it answers (BEP 5 "contact information").
///
/// The compact form is the id followed by the compact endpoint: 26 bytes for IPv4 (`nodes`,
/// BEP 5) and 38 bytes for IPv6 (`nodes6`, BEP 32).
public struct NodeContact: Sendable, Hashable, CustomStringConvertible {
    public var id: NodeID
    public var endpoint: Endpoint

    public init(id: NodeID, endpoint: Endpoint) {
        self.id = id
        self.endpoint = endpoint
    }

    /// Appends the compact node info (id, address, port).
    public func appendCompact(to buffer: inout [UInt8]) {
        id.appendBytes(to: &buffer)
        endpoint.appendCompact(to: &buffer)
    }

    public var description: String { "\(id.hex.prefix(8))…@\(endpoint)" }
}

/// A point in time for the sans-I/O core, in nanoseconds since an arbitrary origin chosen by the
/// driver (the node uses a monotonic clock; the simulator its virtual clock). The core never reads
/// a clock: every event carries `now`.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    public static let zero = Timestamp(nanoseconds: 0)

    public static func seconds(_ value: Double) -> Timestamp { Timestamp(nanoseconds: UInt64(value * 1e9)) }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    /// `self` moved forward by `duration` (negative durations move it back, stopping at zero).
    public static func + (lhs: Timestamp, rhs: Duration) -> Timestamp {
        let delta = rhs.components.seconds * 1_000_000_000 + rhs.components.attoseconds / 1_000_000_000
        return delta >= 0 ? Timestamp(nanoseconds: lhs.nanoseconds &+ UInt64(delta))
            : Timestamp(nanoseconds: lhs.nanoseconds - min(lhs.nanoseconds, UInt64(-delta)))
    }

    /// The time from `rhs` to `lhs` (negative if `lhs` is earlier).
    public static func - (lhs: Timestamp, rhs: Timestamp) -> Duration {
        lhs >= rhs ? .nanoseconds(Int64(lhs.nanoseconds - rhs.nanoseconds)) : .zero - .nanoseconds(Int64(rhs.nanoseconds - lhs.nanoseconds))
    }

    public var description: String { "\(Double(nanoseconds) / 1e9)s" }
}
