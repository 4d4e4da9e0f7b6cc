import Jobs
import Storage

/// The jobs this node lent or borrowed (`spec/0017-jobs.md` §5): LMDB database `jobs`, key =
/// ``JobRecord/key`` (start time first, so the list is in time order), value = its encoding.
/// Each record is written in its own durable transaction when the job ends.
public final class JobStore: Sendable {
    let environment: Environment
    let database: Database

    public init(environment: Environment) throws {
        self.environment = environment
        database = try environment.database("jobs")
    }

    public func add(_ record: JobRecord) throws {
        try environment.write { txn in try txn.put(database, record.key, record.encoded()) }
    }

    /// Every record, oldest first; unreadable ones are skipped.
    public func all() throws -> [JobRecord] {
        try environment.read { txn in
            try txn.entries(database).compactMap { try? JobRecord(encoded: $0.value) }
        }
    }
}
