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

    /// A borrower busy elsewhere reads `started` together with `result`: the window still spans
    /// the run from the input it last sent, so an honest 40 ms report on one core is accepted
    /// (from `started`, the ceiling was 1 ms and the receipt was refused).
    @Test func aLateStartedLeavesTheRunItsTime() {
        var window = RunWindow(sendingAt: 1_000)
        window.sending(at: 1_010)
        window.start(at: 1_060)
        window.sending(at: 1_061)
        #expect(window.opened == 1_010 && window.started == 1_060, "a send after started leaves the window alone")
        #expect(window.wallMilliseconds(endingAt: 1_061) == 51)
        #expect(ReceiptFigures.acceptedCoreMilliseconds(reported: 40, cores: 1, observedWallMilliseconds: window.wallMilliseconds(endingAt: 1_061),
                                                        budgetCoreSeconds: 10) == 40)
        // Still a ceiling: no more than the cores over the whole window.
        #expect(ReceiptFigures.acceptedCoreMilliseconds(reported: 400, cores: 2, observedWallMilliseconds: window.wallMilliseconds(endingAt: 1_061),
                                                        budgetCoreSeconds: 10) == 102)
        #expect(RunWindow(sendingAt: 5).wallMilliseconds(endingAt: 5) == 1, "at least a millisecond")
    }
}
