import PotluckCrypto
import Testing
@testable import Node

/// The borrower's task board (spec 0019 §6): retries go to other lenders first, and end.
@Suite struct TaskBoardTests {
    let a = SigningKey.generate().publicKey
    let b = SigningKey.generate().publicKey

    @Test func aFailedTaskGoesToAnotherLenderFirst() {
        var board = TaskBoard(count: 2)
        #expect(board.take(for: a) == 0)
        board.lenderFailed(0, on: a, reason: "gone")
        #expect(board.take(for: a) == 1, "a takes the task it has not failed")
        #expect(board.take(for: b) == 0, "b takes the retried one")
        board.finish(0, on: b)
        board.finish(1, on: a)
        #expect(board.isFinished)
        #expect(board.states == [.done(b), .done(a)])
    }

    @Test func aTaskSentAheadWaitsAtItsLenderUntilItStarts() {
        var board = TaskBoard(count: 5)
        for lender in [a, a, b] { _ = board.take(for: lender) }
        board.markStarted(0)
        board.markStarted(2)
        #expect(board.counts == TaskBoard.Counts(done: 0, running: 2, waiting: 1, queued: 2, failed: 0))
        board.finish(0, on: a)
        board.markStarted(1)
        board.lenderFailed(2, on: b, reason: "gone")
        #expect(board.counts == TaskBoard.Counts(done: 1, running: 1, waiting: 0, queued: 3, failed: 0))
        #expect(board.countsByLender == [a: TaskBoard.Counts(done: 1, running: 1)])
        _ = board.take(for: b)  // task 2 again, not started yet: no longer counted as running
        #expect(board.countsByLender[b] == TaskBoard.Counts(waiting: 1))
        let line = BatchStatus.line(total: 5, (board.counts, board.countsByLender))
        #expect(line.hasPrefix("potluck: [1/5 done, 1 running, 1 waiting at lenders, 2 queued] "), "\(line)")
        #expect(line.contains("\(a.peerID.prefix(10))…: 1 done, 1 running") && line.contains("\(b.peerID.prefix(10))…: 0 done, 0 running, 1 waiting"), "\(line)")
    }

    @Test func aTaskFailsAfterThreeAttempts() {
        var board = TaskBoard(count: 1)
        for attempt in 1...TaskBoard.maxAttempts {
            #expect(board.take(for: a) == 0)
            board.lenderFailed(0, on: a, reason: "refused \(attempt)")
        }
        #expect(board.take(for: a) == nil)
        #expect(board.states == [.failed("3 attempts failed; last: refused 3")])
        #expect(board.counts.failed == 1)
    }

    @Test func aToolsOwnFailureIsNotRetried() {
        var board = TaskBoard(count: 3)
        _ = board.take(for: a)
        board.finish(0, on: a, failure: "convert exited 1")
        #expect(board.take(for: b) == 1)
        board.abandonQueued("no lender left")
        #expect(board.states == [.failed("convert exited 1"), .running(b), .failed("no lender left")])
        #expect(!board.isFinished)
    }

    @Test func aTaskPutBackIsNotAnAttempt() {
        var board = TaskBoard(count: 1)
        for _ in 0..<5 {
            #expect(board.take(for: a) == 0)
            board.putBack(0)
            #expect(board.states == [.queued])
        }
        for attempt in 1...TaskBoard.maxAttempts {
            #expect(board.take(for: b) == 0)
            if attempt < TaskBoard.maxAttempts { board.lenderFailed(0, on: b, reason: "gone") }
        }
        board.finish(0, on: b)
        #expect(board.states == [.done(b)], "five returns and two failures left the third attempt")
    }
}
