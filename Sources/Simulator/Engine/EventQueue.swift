// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import HeapModule
import Kademlia

/// What an ``Event`` does when it comes due.
public enum EventKind: UInt8, Sendable, CaseIterable {
    /// A datagram arrives at `host`; `payload` is its slot in the in-flight table.
    case deliver = 0
    /// `host`'s ``DHTNode/nextWakeup`` has come (stale if the host rescheduled since).
    case wake
    /// `host` comes online (its first join, or a return after churn).
    case join
    /// `host` goes offline (churn).
    case leave
    /// The workload starts a lookup, a put or a get on a random online host.
    case lookup
    case put
    case get
    /// Time series sampling.
    case sample
    /// The workload phase ends.
    case stop
    /// `host` starts its periodic lookup (`deployment.lookup_interval_s`).
    case periodicLookup
}

/// The kinds of events a simulator schedules: one byte each, with a kind to fall back on
/// should a stored byte ever be unknown. The DHT simulation's are ``EventKind``; the lending
/// economy's are `LendingEventKind`.
public protocol EventKindCode: RawRepresentable, Sendable where RawValue == UInt8 {
    static var fallback: Self { get }
}

extension EventKind: EventKindCode {
    public static var fallback: EventKind { .stop }
}

/// One pending event: 24 bytes, no references, no closures, so a heap of 10⁷ of them is one
/// flat 240 MB buffer that the CPU walks without pointer chasing.
///
/// Ordered by time, then by the sequence number given when it was scheduled: two events due at
/// the same nanosecond happen in the order they were scheduled, so a run never depends on the
/// heap's internal tie-breaking.
public struct Event<Kind: EventKindCode>: Comparable, Sendable {
    /// When it is due, in nanoseconds of virtual time.
    public var time: UInt64
    /// `sequence << 8 | kind`: the scheduling order, with the kind in the low byte.
    public var order: UInt64
    /// What it concerns: a host (unused by workload events), or a job in the lending economy.
    public var subject: UInt32
    /// Kind-specific: the in-flight slot of a datagram, the lender of a line deadline.
    public var payload: UInt32

    public var kind: Kind { Kind(rawValue: UInt8(truncatingIfNeeded: order)) ?? .fallback }
    public var sequence: UInt64 { order >> 8 }

    @inlinable
    public static func < (lhs: Event, rhs: Event) -> Bool {
        lhs.time != rhs.time ? lhs.time < rhs.time : lhs.order < rhs.order
    }
}

extension Event where Kind == EventKind {
    /// The host a DHT event concerns.
    public var host: UInt32 { subject }
}

/// The pending events of a run, earliest first: a binary min-heap (swift-collections `Heap`)
/// of ``Event`` values. Push and pop are O(log n) with no allocation once the buffer has grown.
/// Both simulators use it: the DHT's (``EventKind``) and the lending economy's.
public struct EventQueue<Kind: EventKindCode>: Sendable {
    private var heap = Heap<Event<Kind>>()
    private var nextSequence: UInt64 = 0

    public init() {}

    public var count: Int { heap.count }
    public var isEmpty: Bool { heap.isEmpty }

    /// The time of the earliest event, if any.
    public var nextTime: UInt64? { heap.min?.time }

    /// Schedules an event; its sequence number is the number of events scheduled before it.
    public mutating func schedule(_ kind: Kind, at time: UInt64, subject: UInt32 = 0, payload: UInt32 = 0) {
        precondition(nextSequence < 1 << 56, "sequence numbers exhausted")
        heap.insert(Event(time: time, order: nextSequence << 8 | UInt64(kind.rawValue), subject: subject, payload: payload))
        nextSequence += 1
    }

    /// Removes and returns the earliest event.
    public mutating func next() -> Event<Kind>? { heap.popMin() }

    /// How many events have been scheduled so far.
    public var scheduledCount: UInt64 { nextSequence }
}

extension EventQueue where Kind == EventKind {
    /// Schedules a DHT event concerning `host`.
    public mutating func schedule(_ kind: EventKind, at time: UInt64, host: UInt32 = 0, payload: UInt32 = 0) {
        schedule(kind, at: time, subject: host, payload: payload)
    }
}
