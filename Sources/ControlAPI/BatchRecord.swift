import Foundation


/// A job file the node runs detached from the terminal that submitted it
/// (`spec/0019-native-jobs.md` §7): what it is, and where each of its tasks stands.
public struct BatchRecord: Codable, Sendable, Equatable {
    public enum Phase: String, Codable, Sendable {
        /// No offer lends the tool yet: the node looks again every few seconds.
        case waiting
        case running
        /// Every task's outputs are saved.
        case done
        /// Every task ended, and at least one failed.
        case failed
        case cancelled

        public var isOver: Bool { self == .done || self == .failed || self == .cancelled }
    }

    public struct Task: Codable, Sendable, Equatable {
        public enum State: String, Codable, Sendable { case queued, running, done, failed }
        public var label: String
        public var state: State = .queued
        /// The lender's peer id, once the task was given to one.
        public var lender: String?
        /// Unix milliseconds.
        public var started: Int64?
        public var ended: Int64?
        /// Why it failed, or why its last lender could not run it.
        public var reason: String?
        public var attempts = 0

        public init(label: String) { self.label = label }
    }

    /// A short random hex name, given at submission.
    public var id: String
    /// The job file's absolute path; outputs land beside it.
    public var jobFile: String
    public var tool: String
    /// How many lenders run each task, their results voted on (`--replicas`; 1 when absent).
    public var replicas: Int?
    public var created: Int64
    public var ended: Int64?
    public var phase: Phase = .waiting
    public var tasks: [Task]
    /// What happened, oldest first, at most ``logLimit`` lines.
    public var log: [String] = []

    public static let logLimit = 1000

    public init(id: String, jobFile: String, tool: String, created: Int64, tasks: [Task]) {
        self.id = id
        self.jobFile = jobFile
        self.tool = tool
        self.created = created
        self.tasks = tasks
    }

    /// Appends a line stamped with the time, dropping the oldest beyond ``logLimit``.
    public mutating func note(_ line: String, at unixMilliseconds: Int64) {
        let time = Date(timeIntervalSince1970: Double(unixMilliseconds) / 1000).ISO8601Format()
        log.append("\(time) \(line)")
        if log.count > Self.logLimit { log.removeFirst(log.count - Self.logLimit) }
    }

    /// `done / running / queued / failed` counts.
    public var counts: [Task.State: Int] { tasks.reduce(into: [:]) { $0[$1.state, default: 0] += 1 } }
}
