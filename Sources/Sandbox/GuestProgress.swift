// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// What a running guest reports before its outcome.
public enum GuestProgress: Sendable {
    /// A chunk of the guest's standard error, as it writes it.
    case stderr([UInt8])
    /// Consumption so far, about once a second: fuel spent (an advisory snapshot) and the
    /// child's CPU time.
    case usage(fuelUsed: UInt64, cpuMilliseconds: Int64)
}
