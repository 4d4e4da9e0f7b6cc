// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import HeapModule

/// What a ``LendingEvent`` does when it comes due (`spec/0018-lending-simulation.md` §3).
enum LendingEventKind: UInt8, Sendable {
    /// Peer `subject` submits a job; the next submission is scheduled.
    case arrival = 0
    /// Pending requests are matched with offers.
    case matchTick
    /// Job `subject` reaches its lender, which admits it to its line.
    case deliver
    /// Job `subject` ends on its lender.
    case finish
    /// Lender `extra`'s desk asked to be woken for job `subject`'s line deadline.
    case lineTimeout
    /// Job `subject`'s result reaches its borrower: the receipt is counted.
    case result
    /// The trust snapshot is recomputed.
    case trustTick
    /// Time series sampling.
    case sample
    /// Newcomer `subject` joins.
    case join
    /// Whitewasher `subject` takes a fresh identity.
    case whitewash
}

/// One pending event of the economy: 24 bytes, no references (as ``Event``).
struct LendingEvent: Comparable, Sendable {
    var time: UInt64
    /// `sequence << 8 | kind`.
    var order: UInt64
    var subject: UInt32
    var extra: UInt32
    var kind: LendingEventKind { LendingEventKind(rawValue: UInt8(truncatingIfNeeded: order)) ?? .sample }

    static func < (lhs: LendingEvent, rhs: LendingEvent) -> Bool {
        lhs.time != rhs.time ? lhs.time < rhs.time : lhs.order < rhs.order
    }
}

/// The economy's pending events, earliest first, ties in scheduling order (`spec/0010` §1.3).
struct LendingEventQueue {
    private var heap = Heap<LendingEvent>()
    private var nextSequence: UInt64 = 0
    var count: Int { heap.count }

    mutating func schedule(_ kind: LendingEventKind, at time: UInt64, subject: UInt32 = 0, extra: UInt32 = 0) {
        precondition(nextSequence < 1 << 56, "sequence numbers exhausted")
        heap.insert(LendingEvent(time: time, order: nextSequence << 8 | UInt64(kind.rawValue), subject: subject, extra: extra))
        nextSequence += 1
    }

    mutating func next() -> LendingEvent? { heap.popMin() }
}
