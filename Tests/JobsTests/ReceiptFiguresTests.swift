import Testing
@testable import Jobs

@Suite struct ReceiptFiguresTests {
    @Test func memoryOverTimeIsPeakTimesWallAndSaturates() {
        #expect(ReceiptFigures.memoryByteSeconds(peakMemoryBytes: 64 << 20, wallMilliseconds: 1500) == (64 << 20) * 3 / 2)
        #expect(ReceiptFigures.memoryByteSeconds(peakMemoryBytes: 1000, wallMilliseconds: 0) == 1, "at least a millisecond")
        #expect(ReceiptFigures.memoryByteSeconds(peakMemoryBytes: .max, wallMilliseconds: 2) == .max)
    }

    @Test func theBorrowerPaysAtMostWhatItSawAndWhatItBudgeted() {
        // What the lender reported, when it is plausible.
        #expect(ReceiptFigures.acceptedCoreMilliseconds(reported: 900, cores: 1, observedWallMilliseconds: 1000, budgetCoreSeconds: 10) == 900)
        // Never more than the cores asked for over the time the borrower saw the job run…
        #expect(ReceiptFigures.acceptedCoreMilliseconds(reported: 5000, cores: 2, observedWallMilliseconds: 1000, budgetCoreSeconds: 10) == 2000)
        // …nor more than the budget plus a second.
        #expect(ReceiptFigures.acceptedCoreMilliseconds(reported: 9000, cores: 4, observedWallMilliseconds: 3000, budgetCoreSeconds: 2) == 3000)
        #expect(ReceiptFigures.acceptedMemoryByteSeconds(reportedPeakBytes: 1 << 30, limitBytes: 1 << 20, wallMilliseconds: 1000) == 1 << 20)
    }
}
