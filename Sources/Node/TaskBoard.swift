import PotluckCrypto

/// The borrower's view of a job file's tasks while they run (`spec/0019-native-jobs.md` §6):
/// which wait, which run where, which are done or failed. Lenders' workers take tasks from it;
/// a task whose lender failed goes back in line and is offered to other lenders first; after
/// `maxAttempts` it fails. Pure bookkeeping, no I/O.
public struct TaskBoard: Sendable {
    public enum State: Sendable, Hashable {
        case queued
        case running(PublicKey)
        case done(PublicKey)
        case failed(String)
    }

    public static let maxAttempts = 3
    public private(set) var states: [State]
    private var attempts: [Int]
    /// The lenders each task already failed on, and why the last one failed.
    private var failedOn: [Set<PublicKey>]
    private var lastFailure: [String?]
    /// The running tasks whose lender said it started them (the others wait in its line).
    private var started: Set<Int> = []

    public init(count: Int) {
        states = Array(repeating: .queued, count: count)
        attempts = Array(repeating: 0, count: count)
        failedOn = Array(repeating: [], count: count)
        lastFailure = Array(repeating: nil, count: count)
    }

    /// The next task for `lender`: the first queued one it has not failed, else the first queued.
    public mutating func take(for lender: PublicKey) -> Int? {
        let queued = states.indices.filter { states[$0] == .queued }
        guard let index = queued.first(where: { !failedOn[$0].contains(lender) }) ?? queued.first else { return nil }
        states[index] = .running(lender)
        attempts[index] += 1
        return index
    }

    /// The lender said it started task `index` (until then it waited in the lender's line).
    public mutating func markStarted(_ index: Int) {
        if case .running = states[index] { started.insert(index) }
    }

    /// The task finished; its outcome is the task's own (its outputs are saved, or its tool failed).
    public mutating func finish(_ index: Int, on lender: PublicKey, failure: String? = nil) {
        states[index] = failure.map { .failed($0) } ?? .done(lender)
        started.remove(index)
    }

    /// The lender could not run the task (refused, unreachable, gone): back in line, or failed
    /// after `maxAttempts`.
    public mutating func lenderFailed(_ index: Int, on lender: PublicKey, reason: String) {
        failedOn[index].insert(lender)
        lastFailure[index] = reason
        started.remove(index)
        states[index] = attempts[index] >= Self.maxAttempts ? .failed("\(attempts[index]) attempts failed; last: \(reason)") : .queued
    }

    /// The task goes back in line as if never taken: its lender had no room for it yet
    /// (nothing failed).
    public mutating func putBack(_ index: Int) {
        guard case .running = states[index] else { return }
        states[index] = .queued
        started.remove(index)
        attempts[index] -= 1
    }

    /// Every task still queued fails (no lender is left to run it).
    public mutating func abandonQueued(_ reason: String) {
        for index in states.indices where states[index] == .queued {
            states[index] = .failed(lastFailure[index].map { "\(reason); last: \($0)" } ?? reason)
        }
    }

    public var queuedCount: Int { states.filter { $0 == .queued }.count }
    public var isFinished: Bool { !states.contains { if case .queued = $0 { true } else if case .running = $0 { true } else { false } } }

    /// How many tasks are done, running (started by their lender), waiting in a lender's line
    /// (sent ahead, not started yet), queued here, or failed.
    public struct Counts: Sendable, Equatable {
        public var done = 0, running = 0, waiting = 0, queued = 0, failed = 0
    }

    /// The counts of the whole batch.
    public var counts: Counts { counts(where: { _ in true }) }

    /// The counts of the tasks done, running or waiting at each lender, by lender.
    public var countsByLender: [PublicKey: Counts] {
        var lenders: Set<PublicKey> = []
        for state in states {
            if case .running(let lender) = state { lenders.insert(lender) }
            if case .done(let lender) = state { lenders.insert(lender) }
        }
        return Dictionary(uniqueKeysWithValues: lenders.map { lender in
            (lender, counts(where: { $0 == .running(lender) || $0 == .done(lender) }))
        })
    }

    private func counts(where included: (State) -> Bool) -> Counts {
        var counts = Counts()
        for (index, state) in states.enumerated() where included(state) {
            switch state {
            case .done: counts.done += 1
            case .running: if started.contains(index) { counts.running += 1 } else { counts.waiting += 1 }
            case .queued: counts.queued += 1
            case .failed: counts.failed += 1
            }
        }
        return counts
    }
}
