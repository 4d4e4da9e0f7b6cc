// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// The figures a job's receipt carries, and the most a borrower accepts (`spec/0017-jobs.md`
/// §4). Both sides compute them here, so the lender's proposal and the borrower's check agree.
public enum ReceiptFigures {
    /// Memory held over time: a peak of `peakMemoryBytes` for `wallMilliseconds` (at least 1),
    /// in byte-seconds; saturates instead of overflowing.
    public static func memoryByteSeconds(peakMemoryBytes: Int64, wallMilliseconds: Int64) -> Int64 {
        let product = peakMemoryBytes.multipliedReportingOverflow(by: max(wallMilliseconds, 1))
        return product.overflow ? Int64.max : product.partialValue / 1000
    }

    /// The CPU time a borrower accepts paying for: what the lender reported, but never more than
    /// the cores it asked for over the time it saw the job run (a `RunWindow`), nor more
    /// than its CPU budget plus a second for the sandbox's own start.
    public static func acceptedCoreMilliseconds(reported: Int64, cores: Int, observedWallMilliseconds: Int64,
                                                budgetCoreSeconds: Double) -> Int64 {
        let ceiling = min(Int64(cores) * max(observedWallMilliseconds, 1), Int64(budgetCoreSeconds * 1000) + 1000)
        return min(reported, ceiling)
    }

    /// The memory over time a borrower accepts: the reported peak, at most its memory limit, over
    /// the guest's wall time.
    public static func acceptedMemoryByteSeconds(reportedPeakBytes: Int64, limitBytes: Int64, wallMilliseconds: Int64) -> Int64 {
        memoryByteSeconds(peakMemoryBytes: min(reportedPeakBytes, limitBytes), wallMilliseconds: wallMilliseconds)
    }
}
