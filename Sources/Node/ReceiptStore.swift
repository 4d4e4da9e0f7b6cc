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
    /// written (``add(_:to:)``), so reading back skips the signature checks (about 100 µs a
    /// receipt); replay and fork checks still run.
    public func ledger() throws -> ReceiptLedger {
        let (generation, receipts): (UInt64, [Receipt]?) = try environment.read { txn in
            let generation = Self.generation(try txn.get(generations, Self.generationKey))
            if let cached = Self.cache.withLock({ $0[environment.path] }), cached.generation == generation { return (generation, nil) }
            return (generation, try txn.entries(database).compactMap { try? Receipt(encoded: $0.value) })
        }
        guard let receipts else {
            if let cached = Self.cache.withLock({ $0[environment.path] }), cached.generation == generation { return cached.ledger }
            return try ledger()  // replaced meanwhile: read again
        }
        var ledger = ReceiptLedger()
        for receipt in receipts { _ = try? ledger.insert(receipt, signaturesVerified: true) }
        Self.cache.withLock { $0[environment.path] = (generation, ledger) }
        return ledger
    }

    /// One lock for every receipt exchange of this process (`spec/0011-records.md` §6).
    private static let exchangeLock = Mutex(())

    /// Runs `body` on the ledger, under a lock that every receipt exchange of this process
    /// takes: a provider numbers a proposal and stores it pending, a consumer checks a proposal
    /// and stores its answer, each inside `body` and before any message leaves. Two exchanges of
    /// one pair then never take one sequence, whatever order their messages arrive in.
    public func exchanging<T>(_ body: (inout ReceiptLedger) throws -> T) throws -> T {
        try Self.exchangeLock.withLock { _ in
            var ledger = try ledger()
            return try body(&ledger)
        }
    }

    /// How many writes the receipts have seen (any process's): equal generations, same receipts.
    public func generation() throws -> UInt64 {
        try environment.read { txn in Self.generation(try txn.get(generations, Self.generationKey)) }
    }

    /// Writes `receipts` and counts the generation up, in one durable transaction; the cached
    /// ledger follows when it held the generation before this one.
    private func write(_ receipts: [Receipt]) throws {
        guard !receipts.isEmpty else { return }
        let generation: UInt64 = try environment.write { txn in
            let next = Self.generation(try txn.get(generations, Self.generationKey)) &+ 1
            for receipt in receipts { try txn.put(database, receipt.id.bytes, receipt.encoded()) }
            try txn.put(generations, Self.generationKey, withUnsafeBytes(of: next.bigEndian, Array.init))
            return next
        }
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

    /// Checks each receipt against `ledger` and writes the accepted ones in **one** durable
    /// transaction; returns, per receipt, the insertion or the error that refused it.
    public func add(contentsOf receipts: [Receipt], to ledger: inout ReceiptLedger) throws -> [Result<ReceiptLedger.Insertion, RecordError>] {
        var outcomes: [Result<ReceiptLedger.Insertion, RecordError>] = []
        var accepted: [Receipt] = []
        for receipt in receipts {
            do throws(RecordError) {
                let insertion = try ledger.insert(receipt)
                outcomes.append(.success(insertion))
                // A pending half merged into a complete receipt: store the merged one.
                accepted.append(insertion == .completedPending ? ledger.receipt(id: receipt.id) ?? receipt : receipt)
            } catch {
                outcomes.append(.failure(error))
            }
        }
        try write(accepted)
        return outcomes
    }

    /// Checks `receipt` against `ledger` and, when accepted, writes it (one durable transaction).
    @discardableResult
    public func add(_ receipt: Receipt, to ledger: inout ReceiptLedger) throws -> ReceiptLedger.Insertion {
        let insertion = try ledger.insert(receipt)
        let stored = ledger.receipt(id: receipt.id) ?? receipt
        try write([stored])
        return insertion
    }
}
