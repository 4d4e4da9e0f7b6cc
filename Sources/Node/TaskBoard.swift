import Jobs
import PotluckCrypto

/// The borrower's view of a job file's tasks while they run (`spec/0019-native-jobs.md` §6):
/// which wait, which run where, which are done or failed. Lenders' workers take tasks from it;
/// a task whose lender failed goes back in line and is offered to other lenders first; after
/// `maxFailures` failures (3 by default) it fails. With `replicas` K > 1 each task runs on K distinct lenders
/// and their results are voted on (§6.2, ``ReplicaVote``). Pure bookkeeping, no I/O.
public struct TaskBoard: Sendable {
    public enum State: Sendable, Hashable {
        case queued
        case running(PublicKey)
        case done(PublicKey)
        case failed(String)
    }

    /// What the results of a task's replicas decided (§6.2), as `finish` returns it.
    public enum Verdict: Sendable, Equatable {
        /// A replica is still out, or one more is wanted after a tie: nothing is decided yet.
        case pending
        /// More than half of the replicas gave one result: `winners` gave it, `outvoted` another.
        case decided(winners: [PublicKey], outvoted: [PublicKey])
        /// Every replica allowed ran and no result had a majority: `lenders` ran them.
        case unresolved(lenders: [PublicKey])
    }

    public static let maxAttempts = 3
    /// How many lenders run each task (1: no comparison).
    public let replicas: Int
    /// How many lender failures fail a task.
    public let maxFailures: Int
    public private(set) var states: [State]
    /// Lenders outvoted in this batch: they get no more tasks.
    public private(set) var outvoted: Set<PublicKey> = []

    /// Per task: how many replicas are still to hand out, and how many lenders failed it.
    private var wanted: [Int]
    private var failures: [Int]
    /// Per task: the lenders running a replica (in the order they took it) and those of them
    /// that said they started it (until then it waits in the lender's line).
    private var runningOn: [[PublicKey]]
    private var started: [Set<PublicKey>]
    /// Per task: the results returned since the last vote.
    private var returned: [[(lender: PublicKey, digest: Bytes32?, failure: String?)]]
    /// Per task: the lenders it failed on, and why the last one failed.
    private var failedOn: [Set<PublicKey>]
    private var lastFailure: [String?]
    /// Tasks no lender is left for: their vote is over the replicas that ran.
    private var settled: Set<Int> = []
    /// Tasks decided by a majority of fewer replicas than asked, no lender being left.
    public private(set) var decidedShort = 0

    public init(count: Int, replicas: Int = 1, maxFailures: Int = Self.maxAttempts) {
        precondition(replicas >= 1, "a task runs at least once")
        self.replicas = replicas
        self.maxFailures = maxFailures
        states = Array(repeating: .queued, count: count)
        wanted = Array(repeating: replicas, count: count)
        failures = Array(repeating: 0, count: count)
        runningOn = Array(repeating: [], count: count)
        started = Array(repeating: [], count: count)
        returned = Array(repeating: [], count: count)
        failedOn = Array(repeating: [], count: count)
        lastFailure = Array(repeating: nil, count: count)
    }

    /// The next task for `lender`: the first queued one it has not failed, else the first queued;
    /// never a task it already runs or ran a replica of, and nothing for an outvoted lender.
    public mutating func take(for lender: PublicKey) -> Int? {
        guard !outvoted.contains(lender) else { return nil }
        let open = states.indices.filter { index in
            wanted[index] > 0 && !isOver(index) && !runningOn[index].contains(lender) && !returned[index].contains { $0.lender == lender }
        }
        guard let index = open.first(where: { !failedOn[$0].contains(lender) }) ?? open.first else { return nil }
        wanted[index] -= 1
        runningOn[index].append(lender)
        states[index] = .running(lender)
        return index
    }

    /// Whether `lender` could ever take a replica of a task not over yet: one it neither runs
    /// nor ran, which a failure or a tie elsewhere may still put back in line.
    public func mayTakeMore(_ lender: PublicKey) -> Bool {
        !outvoted.contains(lender) && states.indices.contains { index in
            !isOver(index) && !runningOn[index].contains(lender) && !returned[index].contains { $0.lender == lender }
        }
    }

    /// The lender said it started task `index` (until then it waited in the lender's line).
    public mutating func markStarted(_ index: Int, on lender: PublicKey) {
        if runningOn[index].contains(lender) { started[index].insert(lender) }
    }

    /// Whether `lender` runs a task of this batch other than `index`.
    public func runs(_ lender: PublicKey, besides index: Int) -> Bool {
        runningOn.indices.contains { $0 != index && runningOn[$0].contains(lender) }
    }

    /// `lender`'s replica of task `index` returned a result: `digest` (the output's digest,
    /// compared between replicas) and `failure` (the task's own failure, or `nil`). Once
    /// every replica wanted is back the results are voted on: the majority's decides the task
    /// (done, or failed with its failure), a minority lender is outvoted and gets no more tasks,
    /// a tie asks for one more replica — at most `replicas + 2` in all — and then the task fails.
    @discardableResult
    public mutating func finish(_ index: Int, on lender: PublicKey, digest: Bytes32? = nil, failure: String? = nil) -> Verdict {
        guard let position = runningOn[index].firstIndex(of: lender), !isOver(index) else { return .pending }
        runningOn[index].remove(at: position)
        started[index].remove(lender)
        returned[index].append((lender, digest, failure))
        guard wanted[index] == 0, runningOn[index].isEmpty else {
            refresh(index)
            return .pending
        }
        return vote(index)
    }

    /// No lender is left to run the replicas task `index` still wants: the vote is taken over
    /// those that ran, now if none is still out, else when the last one returns (a tie then
    /// asks for no more). How many ran is the caller's to report.
    public mutating func settle(_ index: Int) -> Verdict {
        guard !isOver(index) else { return .pending }
        settled.insert(index)
        wanted[index] = 0
        return runningOn[index].isEmpty && !returned[index].isEmpty ? vote(index) : .pending
    }

    /// Tasks some replicas ran or run that want another which none of `lenders` (the lenders
    /// still working) may take: each is to be ``settle(_:)``d over those replicas (a replica
    /// still out is waited for). A settled task whose running replica then failed is stranded
    /// again, to be voted over the replicas that returned.
    public func stranded(among lenders: Set<PublicKey>) -> [Int] {
        states.indices.filter { index in
            !isOver(index) && wanted[index] > 0 && !(returned[index].isEmpty && runningOn[index].isEmpty) && !lenders.contains { lender in
                !outvoted.contains(lender) && !runningOn[index].contains(lender) && !returned[index].contains { $0.lender == lender }
            }
        }
    }

    private mutating func vote(_ index: Int) -> Verdict {
        let results = returned[index]
        switch ReplicaVote(results.map(\.digest)) {
        case .majority(let winner, let minority):
            let winners = results.filter { $0.digest == winner }
            states[index] = winners[0].failure.map { .failed($0) } ?? .done(winners[0].lender)
            let losers = minority.map { results[$0].lender }
            outvoted.formUnion(losers)
            if results.count < replicas { decidedShort += 1 }
            return .decided(winners: winners.map(\.lender), outvoted: losers)
        case .tie where results.count < replicas + 2 && !settled.contains(index):
            wanted[index] = 1
            refresh(index)
            return .pending
        case .tie:
            states[index] = .failed("the \(results.count) replicas gave \(Set(results.map(\.digest)).count) different results; none has a majority")
            return .unresolved(lenders: results.map(\.lender))
        }
    }

    /// A decided task failed after all (its outputs could not be saved).
    public mutating func fail(_ index: Int, reason: String) {
        states[index] = .failed(reason)
    }

    /// The lender could not run the task (refused, unreachable, gone): back in line, or failed
    /// after `maxAttempts` failures.
    public mutating func lenderFailed(_ index: Int, on lender: PublicKey, reason: String) {
        guard let position = runningOn[index].firstIndex(of: lender), !isOver(index) else { return }
        runningOn[index].remove(at: position)
        started[index].remove(lender)
        failedOn[index].insert(lender)
        lastFailure[index] = reason
        failures[index] += 1
        if failures[index] >= maxFailures {
            states[index] = .failed("\(failures[index]) attempts failed; last: \(reason)")
        } else {
            wanted[index] += 1
            refresh(index)
        }
    }

    /// The task goes back in line as if never taken by `lender`: it had no room for it yet, or
    /// cannot lend now (nothing failed; `reason`, if given, is told if the task is abandoned).
    public mutating func putBack(_ index: Int, from lender: PublicKey, reason: String? = nil) {
        guard let position = runningOn[index].firstIndex(of: lender), !isOver(index) else { return }
        if let reason { lastFailure[index] = reason }
        runningOn[index].remove(at: position)
        started[index].remove(lender)
        wanted[index] += 1
        refresh(index)
    }

    /// Every task not over and not running fails (no lender is left to run it). A task some
    /// replicas ran is ``settle(_:)``d first (``stranded(among:)``), so none is left here.
    public mutating func abandonQueued(_ reason: String) {
        for index in states.indices where states[index] == .queued {
            states[index] = .failed(lastFailure[index].map { "\(reason); last: \($0)" } ?? reason)
        }
    }

    /// Tasks with a replica still to hand out.
    public var queuedCount: Int { states.indices.filter { !isOver($0) && wanted[$0] > 0 }.count }
    public var isFinished: Bool { states.indices.allSatisfy(isOver) }

    private func isOver(_ index: Int) -> Bool {
        switch states[index] {
        case .done, .failed: true
        case .queued, .running: false
        }
    }

    /// `running` on the lender that took it last while a replica is out, else `queued`.
    private mutating func refresh(_ index: Int) {
        states[index] = runningOn[index].last.map { .running($0) } ?? .queued
    }

    /// How many tasks are done, running (started by their lender), waiting in a lender's line
    /// (sent ahead, not started yet), queued here, or failed.
    public struct Counts: Sendable, Equatable {
        public var done = 0, running = 0, waiting = 0, queued = 0, failed = 0
    }

    /// The counts of the whole batch.
    public var counts: Counts {
        var counts = Counts()
        for index in states.indices {
            switch states[index] {
            case .done: counts.done += 1
            case .running: if started[index].isEmpty { counts.waiting += 1 } else { counts.running += 1 }
            case .queued: counts.queued += 1
            case .failed: counts.failed += 1
            }
        }
        return counts
    }

    /// The replicas done, running or waiting at each lender, by lender.
    public var countsByLender: [PublicKey: Counts] {
        var byLender: [PublicKey: Counts] = [:]
        for index in states.indices {
            for lender in runningOn[index] {
                if started[index].contains(lender) { byLender[lender, default: Counts()].running += 1 } else { byLender[lender, default: Counts()].waiting += 1 }
            }
            if case .done(let lender) = states[index] { byLender[lender, default: Counts()].done += 1 }
        }
        return byLender
    }
}
