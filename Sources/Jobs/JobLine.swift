// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// The line of jobs waiting for a slot on a busy lender (`spec/0017-jobs.md` §3.2): friends
/// first, then by the lender's trust in the borrower, then first come first served. Sans-I/O:
/// the node calls `admit` when a job arrives and `release` when one ends, and starts the
/// tickets they return.
public struct JobLine: Sendable {
    /// A job's place in the line.
    public struct Ticket: Sendable, Hashable {
        public let number: Int
    }

    /// How a waiting job ranks.
    public struct Priority: Sendable, Hashable, Comparable {
        public var friend: Bool
        /// The lender's trust in the borrower (`spec/0012-trust.md`), 0 for strangers.
        public var trust: Double

        public init(friend: Bool, trust: Double) {
            self.friend = friend
            self.trust = trust
        }

        /// `a < b` when `a` is served after `b`.
        public static func < (a: Priority, b: Priority) -> Bool {
            if a.friend != b.friend { return !a.friend }
            return a.trust < b.trust
        }
    }

    private struct Waiting {
        let ticket: Ticket
        let demand: JobDemand
        let priority: Priority
    }

    /// The policy that decides whether a job fits; the node reloads it as the lender edits it.
    public var policy: LenderPolicy
    /// What the running jobs hold.
    public private(set) var load = LenderLoad()
    private var running: [Ticket: JobDemand] = [:]
    private var waiting: [Waiting] = []
    private var nextNumber = 1

    public init(policy: LenderPolicy) { self.policy = policy }

    /// How many jobs wait.
    public var waitingCount: Int { waiting.count }

    /// Takes a job that passed the policy: it starts at once (`.start`) when it fits and nobody
    /// of higher or equal rank waits, or it waits at a place in line.
    public mutating func admit(_ demand: JobDemand, priority: Priority) -> (Ticket, Admission) {
        let ticket = Ticket(number: nextNumber)
        nextNumber += 1
        let ahead = waiting.filter { !($0.priority < priority) }.count
        if ahead == 0 && policy.hasRoom(for: demand, beside: load) {
            start(ticket, demand)
            return (ticket, .start)
        }
        let index = waiting.firstIndex { $0.priority < priority } ?? waiting.count
        waiting.insert(Waiting(ticket: ticket, demand: demand, priority: priority), at: index)
        return (ticket, .wait(position: index + 1))
    }

    /// Ends `ticket` (finished, failed or abandoned, running or waiting) and returns the
    /// waiting tickets that start now, best first.
    public mutating func release(_ ticket: Ticket) -> [Ticket] {
        if let demand = running.removeValue(forKey: ticket) {
            load.remove(demand)
        } else {
            waiting.removeAll { $0.ticket == ticket }
            return []
        }
        var started: [Ticket] = []
        // Serve strictly in rank order: a large job at the head is not overtaken by small ones
        // behind it, so it cannot starve.
        while let head = waiting.first, policy.hasRoom(for: head.demand, beside: load) {
            waiting.removeFirst()
            start(head.ticket, head.demand)
            started.append(head.ticket)
        }
        return started
    }

    /// The place in line of a waiting ticket (1 = next), or `nil` if it is not waiting.
    public func position(of ticket: Ticket) -> Int? {
        waiting.firstIndex { $0.ticket == ticket }.map { $0 + 1 }
    }

    private mutating func start(_ ticket: Ticket, _ demand: JobDemand) {
        running[ticket] = demand
        load.add(demand)
    }

    /// What `admit` decided.
    public enum Admission: Sendable, Hashable {
        case start
        case wait(position: Int)
    }
}
