import Foundation
import PotluckCrypto
import Storage

/// The lenders this borrower sends no more work to (`spec/0019-native-jobs.md` §6.3): one
/// whose result lost a vote of replicas, or one its owner named (`potluck avoid add`), until
/// `potluck avoid forget`. LMDB database `avoided`, key = the lender's 32-byte key, value = the
/// JSON of an ``Entry``. The matcher rules them out (`spec/0016` §2, `avoided`).
public final class AvoidedLenders: Sendable {
    /// Why and since when a lender is avoided.
    public struct Entry: Codable, Sendable, Equatable {
        /// Unix milliseconds.
        public var since: Int64
        public var reason: String

        public init(since: Int64, reason: String) {
            self.since = since
            self.reason = reason
        }
    }

    /// Why a lender outvoted on a task of `job` (a job file, with its id if detached) is avoided.
    public static func outvoted(tool: String, job: String, replicas: Int) -> String {
        "its result of a \(tool) task of \(job) differed from the majority's of \(replicas) replicas "
            + "(another \(tool) version may do this too)"
    }

    let environment: Environment
    let database: Database

    public init(environment: Environment) throws {
        self.environment = environment
        database = try environment.database("avoided")
    }

    /// Avoids `lender` from now on, for `reason` (a later reason replaces an earlier one).
    public func add(_ lender: PublicKey, reason: String, now: Date = Date()) throws {
        let entry = Entry(since: Int64(now.timeIntervalSince1970 * 1000), reason: reason)
        let value = try JSONEncoder().encode(entry)
        try environment.write { txn in try txn.put(database, lender.raw.bytes, Array(value)) }
    }

    /// Stops avoiding `lender`; whether it was avoided.
    public func forget(_ lender: PublicKey) throws -> Bool {
        try environment.write { txn in try txn.delete(database, lender.raw.bytes) }
    }

    /// Every avoided lender; unreadable entries are skipped.
    public func all() throws -> [PublicKey: Entry] {
        try environment.read { txn in
            var avoided: [PublicKey: Entry] = [:]
            for (key, value) in try txn.entries(database) {
                guard let raw = Bytes32(key), let entry = try? JSONDecoder().decode(Entry.self, from: Data(value)) else { continue }
                avoided[PublicKey(raw: raw)] = entry
            }
            return avoided
        }
    }
}
