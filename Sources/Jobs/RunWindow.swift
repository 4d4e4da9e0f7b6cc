// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// The time a borrower saw a job run, on its own clock, for the CPU ceiling of the job's
/// receipt (`spec/0017-jobs.md` §4).
///
/// The window opens when the borrower last sent the lender something the job needs (the
/// `submit`, an input file), not when it reads `started`: a borrower busy elsewhere may read
/// `started` together with `result`, and the run would seem to take no time at all. The
/// lender cannot start before that send, and an honest `started` adds nothing a dishonest lender
/// could not claim anyway by sending `started` at once and holding the job.
public struct RunWindow: Sendable, Equatable {
    /// When the window opened: the last send issued before `started` was read (Unix ms).
    public private(set) var opened: Int64
    /// When `started` was read (Unix ms), the receipt's observed start; `nil` before.
    public private(set) var started: Int64?

    /// A window opened by the job's first send at `now`.
    public init(sendingAt now: Int64) {
        opened = now
    }

    /// The borrower is about to send the lender something the job needs, at `now`: before
    /// `started`, the window opens again from there.
    public mutating func sending(at now: Int64) {
        if started == nil { opened = max(opened, now) }
    }

    /// `started` was read at `now`; later sends (none are expected) leave the window alone.
    public mutating func start(at now: Int64) {
        if started == nil { started = now }
    }

    /// The run's observed wall time if `result` is read at `now`, at least 1 ms.
    public func wallMilliseconds(endingAt now: Int64) -> Int64 {
        max(now - opened, 1)
    }
}
