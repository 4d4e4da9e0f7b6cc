import PotluckCrypto
import Testing
@testable import Node

/// The borrower's task board (spec 0019 §6): retries go to other lenders first, and end;
/// replicas run on distinct lenders and the majority's result decides (§6.2).
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
        board.markStarted(0, on: a)
        board.markStarted(2, on: b)
        #expect(board.counts == TaskBoard.Counts(done: 0, running: 2, waiting: 1, queued: 2, failed: 0))
        board.finish(0, on: a)
        board.markStarted(1, on: a)
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
            board.putBack(0, from: a)
            #expect(board.states == [.queued])
        }
        for attempt in 1...TaskBoard.maxAttempts {
            #expect(board.take(for: b) == 0)
            if attempt < TaskBoard.maxAttempts { board.lenderFailed(0, on: b, reason: "gone") }
        }
        board.finish(0, on: b)
        #expect(board.states == [.done(b)], "five returns and two failures left the third attempt")
    }

    let c = SigningKey.generate().publicKey
    let d = SigningKey.generate().publicKey
    let x = Blake2b.hash256(Array("x".utf8)), y = Blake2b.hash256(Array("y".utf8)), z = Blake2b.hash256(Array("z".utf8))

    @Test func replicasRunOnDistinctLendersAndTheMajorityDecides() {
        var board = TaskBoard(count: 1, replicas: 3)
        #expect(board.take(for: a) == 0)
        #expect(board.take(for: a) == nil, "a lender runs one replica of a task")
        #expect(board.take(for: b) == 0 && board.take(for: c) == 0)
        #expect(board.take(for: d) == nil, "three replicas are out")
        #expect(board.mayTakeMore(d), "a failure may still want d")
        #expect(board.finish(0, on: a, digest: x) == .pending)
        #expect(board.finish(0, on: b, digest: y) == .pending)
        #expect(board.states == [.running(c)])
        #expect(board.finish(0, on: c, digest: x) == .decided(winners: [a, c], outvoted: [b]))
        #expect(board.states == [.done(a)])
        #expect(board.outvoted == [b])
        #expect(!board.mayTakeMore(d) && board.isFinished)
        let verdict = TaskBoard.Verdict.decided(winners: [a, c], outvoted: [b])
        #expect(verdict.judgement(for: a) == .countersign)
        #expect(verdict.judgement(for: b) == .refuse("its result differs from the one 2 of the 3 replicas gave"))
    }

    @Test func anOutvotedLenderGetsNoMoreTasks() {
        var board = TaskBoard(count: 2, replicas: 2)
        for lender in [a, b] { #expect(board.take(for: lender) == 0) }
        board.finish(0, on: a, digest: x)
        board.finish(0, on: b, digest: y)
        #expect(board.take(for: c) == 0, "a tie asks for a third replica")
        #expect(board.finish(0, on: c, digest: x) == .decided(winners: [a, c], outvoted: [b]))
        #expect(board.take(for: b) == nil && !board.mayTakeMore(b))
        #expect(board.take(for: a) == 1)
    }

    @Test func tiesEndAfterTwoMoreReplicas() {
        var board = TaskBoard(count: 1, replicas: 2)
        for lender in [a, b] { _ = board.take(for: lender) }
        board.finish(0, on: a, digest: x)
        #expect(board.finish(0, on: b, digest: y) == .pending)
        #expect(board.states == [.queued] && board.queuedCount == 1)
        #expect(board.take(for: a) == nil, "not on a lender that gave a result already")
        #expect(board.take(for: c) == 0)
        #expect(board.finish(0, on: c, digest: z) == .pending)
        #expect(board.take(for: d) == 0)
        #expect(board.finish(0, on: d, digest: x) == .unresolved(lenders: [a, b, c, d]), "x holds 2 of 4: no majority")
        #expect(board.states == [.failed("the 4 replicas gave 3 different results; none has a majority")])
        #expect(board.outvoted.isEmpty, "nobody is shown wrong")
        #expect(TaskBoard.Verdict.unresolved(lenders: [a, b, c, d]).judgement(for: a) == .refuse("none of the 4 replicas' results had a majority"))
    }

    @Test func aFailedReplicaRunsOnAnotherLenderAndAgreeingFailuresFailTheTask() {
        var board = TaskBoard(count: 1, replicas: 2)
        for lender in [a, b] { _ = board.take(for: lender) }
        board.lenderFailed(0, on: a, reason: "gone")
        #expect(board.states == [.running(b)])
        #expect(board.take(for: c) == 0)
        board.finish(0, on: b, digest: x, failure: "sh exited 1")
        #expect(board.finish(0, on: c, digest: x, failure: "sh exited 1") == .decided(winners: [b, c], outvoted: []))
        #expect(board.states == [.failed("sh exited 1")])
    }

    /// What a job file's batch does when its lenders are gone: a task some replicas ran is
    /// settled over them; one none ran is abandoned.
    @Test func aTaskSomeReplicasRanIsSettledOverThem() {
        var board = TaskBoard(count: 3, replicas: 3)
        #expect(board.take(for: a) == 0 && board.take(for: b) == 0)
        board.finish(0, on: a, digest: x)
        board.finish(0, on: b, digest: x)
        #expect(board.take(for: a) == 1)
        board.finish(1, on: a, digest: y)
        #expect(board.stranded(among: [a, b]) == [0], "b may still take task 1")
        #expect(board.stranded(among: [a]) == [0, 1])
        #expect(board.settle(0) == .decided(winners: [a, b], outvoted: []))
        #expect(board.settle(1) == .decided(winners: [a], outvoted: []))
        #expect(board.decidedShort == 2)
        board.abandonQueued("no lender was left to run it")
        #expect(board.states == [.done(a), .done(a), .failed("no lender was left to run it")])
        #expect(board.stranded(among: []).isEmpty)
    }

    /// The last other lender leaves while two replicas still run (CI saw this): the task is
    /// settled now and decided by those two when the second returns, not left waiting.
    @Test func aTaskWhoseReplicasStillRunIsSettledWhenNoOtherLenderIsLeft() {
        var board = TaskBoard(count: 1, replicas: 3)
        for lender in [a, b, c] { #expect(board.take(for: lender) == 0) }
        board.lenderFailed(0, on: c, reason: "its tool vanished")
        #expect(board.stranded(among: [a, b, c]).isEmpty, "c may take the task again")
        #expect(board.stranded(among: [a, b]) == [0])
        #expect(board.settle(0) == .pending)
        #expect(board.finish(0, on: a, digest: x) == .pending)
        #expect(board.finish(0, on: b, digest: x) == .decided(winners: [a, b], outvoted: []))
        #expect(board.decidedShort == 1)
    }

    /// A lender that cannot lend now (its owner came back) puts the task back uncounted: a
    /// third such refusal does not fail it, and if no lender is left the reason is told.
    @Test func aTaskRefusedByLendersThatCannotLendNowIsNotFailed() {
        var board = TaskBoard(count: 1)
        for lender in [a, b, c] {
            #expect(board.take(for: lender) == 0)
            board.putBack(0, from: lender, reason: "not-idle: its owner is at it")
        }
        #expect(board.states == [.queued])
        board.abandonQueued("no lender was left to run it")
        #expect(board.states == [.failed("no lender was left to run it; last: not-idle: its owner is at it")])
    }

    /// Settled while two replicas run, one of whose lenders then fails: the task is stranded
    /// again and decided by the replica that returned.
    @Test func aSettledTaskWhoseRunningReplicaFailsIsDecidedByTheOneThatReturned() {
        var board = TaskBoard(count: 1, replicas: 3)
        for lender in [a, b] { #expect(board.take(for: lender) == 0) }
        #expect(board.settle(0) == .pending)
        #expect(board.stranded(among: []).isEmpty, "settled, it waits for its replicas")
        #expect(board.finish(0, on: a, digest: x) == .pending)
        board.lenderFailed(0, on: b, reason: "gone")
        #expect(board.stranded(among: []) == [0])
        #expect(board.settle(0) == .decided(winners: [a], outvoted: []))
        #expect(board.states == [.done(a)])
    }
}
