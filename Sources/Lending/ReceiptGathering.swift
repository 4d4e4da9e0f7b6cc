// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// When a lender gathers what a borrower that asks it for work has published
/// (`spec/0011-records.md` Appendix A): at most once an hour per borrower, and at most
/// ``perHour`` gatherings an hour in all, saved up to as many. Each gathering may add 45
/// receipts to the lender's ledger and any key can ask for work, so a stream of fresh
/// identities must not grow the ledger, and the cost of ranking from it, without bound.
///
/// A sans-I/O rule over a clock given as the time since any fixed origin: the node's
/// `ReceiptKeeper` and the lending simulator (`spec/0018` §3.3) keep one each.
public struct ReceiptGathering<Borrower: Hashable & Sendable>: Sendable {
    /// How long a gathering stands before the same borrower is gathered again.
    public static var every: Duration { .seconds(3600) }
    /// Gatherings an hour at most (the simulator's lenders needed about 10).
    public static var perHour: Double { 60 }
    /// Borrowers remembered at most; past that, those gathered over an hour ago are forgotten.
    public static var remembered: Int { 4096 }

    private var last: [Borrower: Duration] = [:]
    private var tokens = Self.perHour
    private var updated = Duration.zero

    public init() {}

    /// Whether to gather `borrower`, which asked for work at `now`; if so, it is counted.
    public mutating func gathers(_ borrower: Borrower, at now: Duration) -> Bool {
        if let previous = last[borrower], now - previous < Self.every { return false }
        let elapsed = Double((now - updated).components.seconds) + Double((now - updated).components.attoseconds) / 1e18
        tokens = min(Self.perHour, tokens + max(0, elapsed) * Self.perHour / 3600)
        updated = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        if last.count >= Self.remembered {
            last = last.filter { now - $0.value < Self.every }
            if last.count >= Self.remembered { last.removeAll() }
        }
        last[borrower] = now
        return true
    }
}
