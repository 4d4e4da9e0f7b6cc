import Foundation
import PotluckCrypto
import Storage

/// The lenders this borrower sends no more work to (`spec/0019-native-jobs.md` §6.3): one
/// whose result lost a vote of replicas, or one its owner named (`potluck avoid add`), until
/// `potluck avoid forget`; one whose owner came back to the machine (it refused `not-idle`)
/// for ``JobRefusal/ownerBackMemory``. LMDB database `avoided`, key = the lender's 32-byte
/// key, value = the JSON of an ``Entry``. The matcher rules them out (`spec/0016` §2, `avoided`).
public final class AvoidedLenders: Sendable {
    /// Why, since when and until when a lender is avoided.
    public struct Entry: Codable, Sendable, Equatable {
        /// Unix milliseconds.
        public var since: Int64
        public var reason: String
        /// Unix milliseconds from which the lender is asked again; `nil`: until forgotten.
        public var until: Int64?

        public init(since: Int64, reason: String, until: Int64? = nil) {
            self.since = since
            self.reason = reason
            self.until = until
        }

        /// Whether the lender is still avoided at `now`.
        public func isInForce(at now: Date) -> Bool {
            until.map { Int64(now.timeIntervalSince1970 * 1000) < $0 } ?? true
        }
    }

    /// Why a lender that refused `not-idle` is left alone for a while.
    public static let ownerBack = "its owner was using it (it refused a task: not-idle)"

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

    /// Avoids `lender` from now on, for `reason` (a later reason replaces an earlier one), or
    /// only `for` a while; a while never shortens an avoidance in force for longer.
    public func add(_ lender: PublicKey, reason: String, for duration: Duration? = nil, now: Date = Date()) throws {
        let since = Int64(now.timeIntervalSince1970 * 1000)
        let entry = Entry(since: since, reason: reason, until: duration.map { since + Int64($0 / .milliseconds(1)) })
        let value = try JSONEncoder().encode(entry)
        try environment.write { txn in
            if let until = entry.until, let held = try txn.get(database, lender.raw.bytes),
               let current = try? JSONDecoder().decode(Entry.self, from: Data(held)), current.isInForce(at: now),
               (current.until ?? .max) >= until { return }
            try txn.put(database, lender.raw.bytes, Array(value))
        }
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
