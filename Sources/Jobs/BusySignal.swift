// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// What an idle-only lender's offer says of its machine (`spec/0011-records.md` §2.2): busy
/// since when, or idle. The published state follows the measured one once that has held for
/// ``hold`` without a break, so a short burst of other work does not republish the offer.
/// The node's offer refresher and the lending simulator run this one rule.
public struct BusySignal: Sendable, Hashable {
    /// How long a new measured state must last before the offer says it.
    public static let hold: Duration = .seconds(30)

    /// What the offer says: the Unix second the machine became busy, or nil while it is idle.
    public private(set) var busySince: Int64?
    /// A measured state that differs from the published one, and since when.
    private var change: Change?

    private struct Change: Sendable, Hashable {
        var busy: Bool
        var since: Int64
    }

    public init(busySince: Int64? = nil) { self.busySince = busySince }

    /// Takes a measurement at `now` (Unix seconds); true when the offer must be published again.
    public mutating func observe(busy: Bool, now: Int64) -> Bool {
        guard busy != (busySince != nil) else {
            change = nil
            return false
        }
        if change?.busy != busy { change = Change(busy: busy, since: now) }
        guard let change, now - change.since >= Self.hold.components.seconds else { return false }
        busySince = busy ? change.since : nil
        self.change = nil
        return true
    }

    /// When the pending change will be published if it lasts, Unix seconds; nil when none is.
    public var publishesAt: Int64? { change.map { $0.since + Self.hold.components.seconds } }
}
