import Foundation
import Storage
import ControlAPI

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
