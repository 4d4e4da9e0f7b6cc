// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

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
    /// The owner of idle-only lender `subject` (a slot) starts or stops using the machine.
    case ownerTurn
    /// Idle-only lender `subject`'s offer may say its machine turned busy or idle (§2.7).
    case busySignal
    /// Job `subject`, paused since its owner came back, may have been paused for the limit.
    case giveBack
}

extension LendingEventKind: EventKindCode {
    static var fallback: LendingEventKind { .sample }
}
