import Foundation
import Storage

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
    }

    /// A short random hex name, given at submission.
    public var id: String
    /// The job file's absolute path; outputs land beside it.
    public var jobFile: String
    public var tool: String
    public var created: Int64
    public var ended: Int64?
    public var phase: Phase = .waiting
    public var tasks: [Task]
    /// What happened, oldest first, at most ``logLimit`` lines.
    public var log: [String] = []

    public static let logLimit = 1000

    /// Appends a line stamped with the time, dropping the oldest beyond ``logLimit``.
    public mutating func note(_ line: String, at unixMilliseconds: Int64) {
        let time = Date(timeIntervalSince1970: Double(unixMilliseconds) / 1000).ISO8601Format()
        log.append("\(time) \(line)")
        if log.count > Self.logLimit { log.removeFirst(log.count - Self.logLimit) }
    }

    /// `done / running / queued / failed` counts.
    public var counts: [Task.State: Int] { tasks.reduce(into: [:]) { $0[$1.state, default: 0] += 1 } }
}

/// Detached jobs in LMDB (database `batches`, key = id, value = the record as JSON): each change
/// is one durable write transaction, so a node killed mid-job finds every finished task again.
public final class BatchStore: Sendable {
    let environment: Environment
    let database: Database

    public init(environment: Environment) throws {
        self.environment = environment
        database = try environment.database("batches")
    }

    public func put(_ record: BatchRecord) throws {
        let bytes = try JSONEncoder().encode(record)
        try environment.write { txn in try txn.put(database, Array(record.id.utf8), Array(bytes)) }
    }

    public func get(_ id: String) throws -> BatchRecord? {
        try environment.read { txn in try txn.get(database, Array(id.utf8)) }.flatMap { try? JSONDecoder().decode(BatchRecord.self, from: Data($0)) }
    }

    /// Changes a record in one transaction (read, change, write); returns it changed, or `nil`
    /// when there is no such record.
    @discardableResult
    public func update(_ id: String, _ change: (inout BatchRecord) -> Void) throws -> BatchRecord? {
        try environment.write { txn -> BatchRecord? in
            guard let bytes = try txn.get(database, Array(id.utf8)),
                  var record = try? JSONDecoder().decode(BatchRecord.self, from: Data(bytes)) else { return nil }
            change(&record)
            try txn.put(database, Array(id.utf8), Array(try JSONEncoder().encode(record)))
            return record
        }
    }

    /// Every record, oldest first; unreadable ones are skipped.
    public func all() throws -> [BatchRecord] {
        try environment.read { txn in
            try txn.entries(database).compactMap { try? JSONDecoder().decode(BatchRecord.self, from: Data($0.value)) }
        }.sorted { ($0.created, $0.id) < ($1.created, $1.id) }
    }
}
