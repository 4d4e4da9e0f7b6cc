import PotluckCrypto
import Records
import Storage
import Synchronization

/// The node's ledger of reciprocity receipts on disk (`spec/0011-records.md`): LMDB database
/// `receipts`, key = receipt id (32 bytes), value = the receipt's stored form. Every receipt is
/// checked (signatures, replay, fork) through a ``ReceiptLedger`` before it is written.
///
/// Every write also counts up a generation (database `receipts-generation`, in the same
/// transaction), so ``ledger()`` rebuilds from disk only when some process wrote receipts since
/// this process last read them: a lender asks for the ledger at each job, and rebuilding it
/// costs about 35 µs a receipt (170 ms at 5,000 receipts).
public final class ReceiptStore: Sendable {
    let environment: Environment
    let database: Database
    let generations: Database

    public init(environment: Environment) throws {
        self.environment = environment
        database = try environment.database("receipts")
        generations = try environment.database("receipts-generation")
    }

    /// The ledger last read in this process, per environment, and the generation it holds.
    private static let cache = Mutex<[String: (generation: UInt64, ledger: ReceiptLedger)]>([:])
    private static let generationKey = Array("generation".utf8)

    /// Every stored receipt, in id order.
    public func all() throws -> [Receipt] {
        try environment.read { txn in
            try txn.entries(database).compactMap { try? Receipt(encoded: $0.value) }
        }
    }

    /// The ledger rebuilt from disk. Every receipt was verified by a ledger before it was
    /// written (``exchanging(_:)``), so reading back skips the signature checks (about 100 µs a
    /// receipt); replay and fork checks still run.
    public func ledger() throws -> ReceiptLedger {
        let (generation, encoded): (UInt64, [[UInt8]]?) = try environment.read { txn in
            let generation = Self.generation(try txn.get(generations, Self.generationKey))
            if let cached = Self.cache.withLock({ $0[environment.path] }), cached.generation == generation { return (generation, nil) }
            return (generation, try txn.entries(database).map(\.value))
        }
        guard let encoded else {
            if let cached = Self.cache.withLock({ $0[environment.path] }), cached.generation == generation { return cached.ledger }
            return try ledger()  // replaced meanwhile: read again
        }
        let ledger = Self.rebuild(encoded)
        Self.cache.withLock { $0[environment.path] = (generation, ledger) }
        return ledger
    }

    /// A ledger of stored receipts; unreadable ones are skipped.
    private static func rebuild(_ encoded: [[UInt8]]) -> ReceiptLedger {
        var ledger = ReceiptLedger()
        for bytes in encoded {
            guard let receipt = try? Receipt(encoded: bytes) else { continue }
            _ = try? ledger.insert(receipt, signaturesVerified: true)
        }
        return ledger
    }

    /// The ledger inside ``exchanging(_:)``, and the receipts it accepted there, written when
    /// the exchange's step ends.
    public struct LedgerTransaction {
        /// The receipts as of this step: everything committed before it, by any process.
        public private(set) var ledger: ReceiptLedger
        fileprivate var accepted: [Receipt] = []

        /// A step over `ledger` (a borrower that keeps no receipts uses an empty one).
        public init(ledger: ReceiptLedger) { self.ledger = ledger }

        /// Checks `receipt` against the ledger (signatures, replay, fork) and, when accepted,
        /// writes it as the step ends; a pending half merged into a complete receipt is written
        /// merged.
        @discardableResult
        public mutating func add(_ receipt: Receipt) throws(RecordError) -> ReceiptLedger.Insertion {
            let insertion = try ledger.insert(receipt)
            accepted.append(ledger.receipt(id: receipt.id) ?? receipt)
            return insertion
        }
    }

    /// Exchanges of this process wait here before LMDB's writer lock, which serves processes.
    private static let exchangeLock = Mutex(())

    /// Runs one step of a receipt exchange inside one durable write transaction, so no other
    /// step — of this process or another on the same database — runs between its read and its
    /// write: a provider numbers a proposal and keeps it pending, a consumer checks a proposal
    /// against the sequences used and keeps its answer, each before any message leaves
    /// (`spec/0011-records.md` §6.2). Two exchanges of one pair never take one sequence,
    /// whatever order their messages arrive in. `body` may run again if the map grows: it must
    /// send nothing itself. A throwing `body` writes nothing.
    public func exchanging<T: Sendable>(_ body: (inout LedgerTransaction) throws -> T) throws -> T {
        try Self.exchangeLock.withLock { _ in
            let (value, accepted, generation) = try environment.write { txn in
                let stored = Self.generation(try txn.get(generations, Self.generationKey))
                let cached = Self.cache.withLock { $0[environment.path] }
                var step = LedgerTransaction(ledger: cached?.generation == stored ? cached!.ledger
                                             : Self.rebuild(try txn.entries(database).map(\.value)))
                let value = try body(&step)
                guard !step.accepted.isEmpty else { return (value, step.accepted, stored) }
                return (value, step.accepted, try commit(step.accepted, in: txn, after: stored))
            }
            cacheFollows(accepted, generation: generation)
            return value
        }
    }

    /// How many writes the receipts have seen (any process's): equal generations, same receipts.
    public func generation() throws -> UInt64 {
        try environment.read { txn in Self.generation(try txn.get(generations, Self.generationKey)) }
    }

    /// Puts `receipts` and the generation after `generation` in `txn`; returns the new one.
    private func commit(_ receipts: [Receipt], in txn: borrowing WriteTransaction, after generation: UInt64) throws -> UInt64 {
        let next = generation &+ 1
        for receipt in receipts { try txn.put(database, receipt.id.bytes, receipt.encoded()) }
        try txn.put(generations, Self.generationKey, withUnsafeBytes(of: next.bigEndian, Array.init))
        return next
    }

    /// After a commit of `receipts` at `generation`: the cached ledger takes them when it held
    /// the generation before, and is dropped otherwise.
    private func cacheFollows(_ receipts: [Receipt], generation: UInt64) {
        guard !receipts.isEmpty else { return }
        Self.cache.withLock { cache in
            guard var cached = cache[environment.path], cached.generation == generation &- 1 else {
                cache[environment.path] = nil
                return
            }
            cache[environment.path] = nil  // one copy of the ledger while it changes
            for receipt in receipts { _ = try? cached.ledger.insert(receipt, signaturesVerified: true) }
            cached.generation = generation
            cache[environment.path] = cached
        }
    }

    private static func generation(_ bytes: [UInt8]?) -> UInt64 {
        guard let bytes, bytes.count == 8 else { return 0 }
        return bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Checks each receipt against the stored ledger and writes the accepted ones in **one**
    /// durable transaction (``exchanging(_:)``: nothing written meanwhile is missed); returns,
    /// per receipt, the insertion or the error that refused it.
    public func add(contentsOf receipts: [Receipt]) throws -> [Result<ReceiptLedger.Insertion, RecordError>] {
        try exchanging { step in receipts.map { receipt in Result { () throws(RecordError) in try step.add(receipt) } } }
    }
}
