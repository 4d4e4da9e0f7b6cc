// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// The constants of the score (`spec/0016-matching.md` §3). Every term is an expected duration
/// in **seconds**, so the terms add up and the score reads as "how long until I have my result":
///
///     latency L  = measured RTT if known, else the Vivaldi estimate ‖x_b − x_l‖ + h_b + h_l
///                  (Dabek et al., SIGCOMM 2004, §5.4), else `unknownLatencyMs`        [ms]
///     compute    = W / c                 W core-seconds of work on the c cores the job uses
///     transfer   = roundTripsPerJob × L / 1000
///     priority   = 1 for a friend of the lender, else strangerPriorityCeiling × τ_lb
///     wait       = p_busy × busyWaitSeconds × (1 − priority)
///     risk       = untrustedRedoFraction × (1 − τ_bl) × (compute + transfer)
///     cost       = compute + transfer + wait + risk          score = −cost (higher is better)
///
/// `τ_bl` is the borrower's trust in the lender and `τ_lb` the lender's trust in the borrower,
/// both clamped to [0, 1] (unknown `τ_lb` counts as 0); `p_busy` is 1 when the lender is known
/// busy, 0 when known idle, `unknownBusyProbability` otherwise. The wait term models the lender's
/// policy (friends first, then by trust, when it is busy); the risk term is the expected work
/// redone elsewhere if a lender the borrower has no reason to trust fails or cheats.
///
/// Batch assignment minimises the **placement cost** `cost − compute`: compute depends on the
/// request only, so when the same requests are served both objectives pick the same offers, and
/// the placement cost is the part any choice can change.
public struct MatchWeights: Sendable, Hashable {
    /// Round trips a job costs (channel handshake, upload, progress, result).
    public var roundTripsPerJob: Double = 20
    /// The latency assumed for a lender with no measured RTT and no comparable coordinate, ms.
    public var unknownLatencyMs: Double = 200
    /// Expected wait, in seconds, of a borrower of priority 0 at a busy lender.
    public var busyWaitSeconds: Double = 600
    /// The probability that a lender whose state is unknown is busy.
    public var unknownBusyProbability: Double = 0.5
    /// A stranger's priority at full trust; a friend's is 1, so friends always come first.
    public var strangerPriorityCeiling: Double = 0.9
    /// The fraction of the job expected to be redone when the borrower's trust in the lender is 0.
    public var untrustedRedoFraction: Double = 0.5

    public init() {}

    public init(
        roundTripsPerJob: Double = 20, unknownLatencyMs: Double = 200, busyWaitSeconds: Double = 600,
        unknownBusyProbability: Double = 0.5, strangerPriorityCeiling: Double = 0.9, untrustedRedoFraction: Double = 0.5
    ) {
        self.roundTripsPerJob = roundTripsPerJob
        self.unknownLatencyMs = unknownLatencyMs
        self.busyWaitSeconds = busyWaitSeconds
        self.unknownBusyProbability = unknownBusyProbability
        self.strangerPriorityCeiling = strangerPriorityCeiling
        self.untrustedRedoFraction = untrustedRedoFraction
    }
}
