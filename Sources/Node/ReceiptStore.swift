import PotluckCrypto
import Records
import Storage

/// The node's ledger of reciprocity receipts on disk (`spec/0011-records.md`): LMDB database
/// `receipts`, key = receipt id (32 bytes), value = the receipt's stored form. Every receipt is
/// checked (signatures, replay, fork) through a ``ReceiptLedger`` before it is written.
public final class ReceiptStore: Sendable {
    let environment: Environment
    let database: Database

    public init(environment: Environment) throws {
        self.environment = environment
        database = try environment.database("receipts")
    }

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
        var ledger = ReceiptLedger()
        for receipt in try all() { _ = try? ledger.insert(receipt, signaturesVerified: true) }
        return ledger
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
        try environment.write { txn in
            for receipt in accepted { try txn.put(database, receipt.id.bytes, receipt.encoded()) }
        }
        return outcomes
    }

    /// Checks `receipt` against `ledger` and, when accepted, writes it (one durable transaction).
    @discardableResult
    public func add(_ receipt: Receipt, to ledger: inout ReceiptLedger) throws -> ReceiptLedger.Insertion {
        let insertion = try ledger.insert(receipt)
        let stored = ledger.receipt(id: receipt.id) ?? receipt
        try environment.write { txn in try txn.put(database, stored.id.bytes, stored.encoded()) }
        return insertion
    }
}
