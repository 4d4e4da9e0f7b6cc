// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import CLMDB

/// A read-only snapshot, valid only inside ``Environment/read(_:)``.
///
/// The type is `~Copyable` and handed to the closure as `borrowing`, so it cannot be
/// stored, returned or copied out of the closure.
public struct ReadTransaction: ~Copyable {
    @usableFromInline let txn: OpaquePointer

    /// The value stored under `key`, or `nil` if there is none.
    public func get(_ db: Database, _ key: [UInt8]) throws(StorageError) -> [UInt8]? {
        try Ops.get(txn, db, key)
    }

    /// Runs `body` on the stored bytes of `key` without copying them; `nil` if absent.
    /// The buffer is valid only during `body`.
    @inlinable
    public func withValue<R>(
        _ db: Database, _ key: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R? {
        try key.withUnsafeBytes { key in try Ops.withValue(txn, db, key, body) }
    }

    /// Zero-copy lookup with a raw key; as above.
    public func withValue<R>(
        _ db: Database, _ key: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R? {
        try Ops.withValue(txn, db, key, body)
    }

    /// Whether `key` is present.
    public func contains(_ db: Database, _ key: [UInt8]) throws(StorageError) -> Bool {
        try Ops.contains(txn, db, key)
    }

    /// All entries whose key starts with `prefix` (everything when empty), in key order.
    public func entries(_ db: Database, prefix: [UInt8] = []) throws(StorageError) -> [Cursor.Entry] {
        try Ops.entries(txn, db, prefix: prefix)
    }

    /// Runs `body` with a cursor over `db`; the cursor is closed when `body` returns.
    public func withCursor<R>(_ db: Database, _ body: (borrowing Cursor) throws -> R) throws -> R {
        try Ops.withCursor(txn, db, body)
    }

    /// Statistics of `db` as seen by this transaction.
    public func stats(_ db: Database) throws(StorageError) -> DatabaseStats {
        try Ops.stats(txn, db)
    }
}

/// A write transaction, valid only inside ``Environment/write(_:)``.
///
/// `~Copyable` and borrowed by the closure so it cannot escape; not `Sendable`, because
/// LMDB write transactions belong to the thread that began them.
public struct WriteTransaction: ~Copyable {
    let txn: OpaquePointer
    /// Set when LMDB reports `MDB_MAP_FULL`; the environment then grows and retries.
    let mapFull: UnsafeMutablePointer<Bool>

    /// Options for `put`.
    public struct PutFlags: OptionSet, Sendable {
        /// The raw LMDB flag bits.
        public let rawValue: UInt32
        /// Creates flags from LMDB flag bits.
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// Fail with ``StorageError/Code/keyExist`` instead of replacing (`MDB_NOOVERWRITE`).
        public static let noOverwrite = PutFlags(rawValue: UInt32(MDB_NOOVERWRITE))
        /// Append at the end; keys must arrive in increasing order (`MDB_APPEND`).
        public static let append = PutFlags(rawValue: UInt32(MDB_APPEND))
    }

    /// Stores `value` under `key`, replacing any previous value.
    public func put(
        _ db: Database, _ key: [UInt8], _ value: [UInt8], flags: PutFlags = []
    ) throws(StorageError) {
        let rc = key.withUnsafeBytes { key in
            value.withUnsafeBytes { value in
                var k = mdbVal(key)
                var v = mdbVal(value)
                return mdb_put(txn, db.dbi, &k, &v, flags.rawValue)
            }
        }
        try checkWrite(rc, "putting a key in \(db)")
    }

    /// Stores raw bytes without an intermediate copy.
    public func put(
        _ db: Database, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer,
        flags: PutFlags = []
    ) throws(StorageError) {
        var k = mdbVal(key)
        var v = mdbVal(value)
        try checkWrite(mdb_put(txn, db.dbi, &k, &v, flags.rawValue), "putting a key in \(db)")
    }

    /// Reserves `count` bytes for `key` and lets `fill` write them in place
    /// (`MDB_RESERVE`): the value is never copied.
    public func putReserved(
        _ db: Database, _ key: [UInt8], count: Int, flags: PutFlags = [],
        fill: (UnsafeMutableRawBufferPointer) -> Void
    ) throws(StorageError) {
        try withBytes(key) { (key) throws(StorageError) in
            var k = mdbVal(key)
            var v = MDB_val(mv_size: count, mv_data: nil)
            let bits = flags.rawValue | UInt32(MDB_RESERVE)
            try checkWrite(mdb_put(txn, db.dbi, &k, &v, bits), "reserving a value in \(db)")
            fill(UnsafeMutableRawBufferPointer(start: v.mv_data, count: v.mv_size))
        }
    }

    /// Deletes `key`; returns `false` if it was absent.
    @discardableResult
    public func delete(_ db: Database, _ key: [UInt8]) throws(StorageError) -> Bool {
        try withBytes(key) { (key) throws(StorageError) -> Bool in
            var k = mdbVal(key)
            let rc = mdb_del(txn, db.dbi, &k, nil)
            if rc == MDB_NOTFOUND { return false }
            try checkWrite(rc, "deleting a key in \(db)")
            return true
        }
    }

    /// Removes every entry of `db` (the database itself stays).
    public func clear(_ db: Database) throws(StorageError) {
        try checkWrite(mdb_drop(txn, db.dbi, 0), "clearing \(db)")
    }

    /// The value stored under `key`, or `nil` if there is none.
    public func get(_ db: Database, _ key: [UInt8]) throws(StorageError) -> [UInt8]? {
        try Ops.get(txn, db, key)
    }

    /// Zero-copy lookup; the buffer is valid only during `body` and until the next write.
    public func withValue<R>(
        _ db: Database, _ key: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R? {
        try key.withUnsafeBytes { key in try Ops.withValue(txn, db, key, body) }
    }

    /// Zero-copy lookup with a raw key.
    public func withValue<R>(
        _ db: Database, _ key: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R? {
        try Ops.withValue(txn, db, key, body)
    }

    /// Whether `key` is present.
    public func contains(_ db: Database, _ key: [UInt8]) throws(StorageError) -> Bool {
        try Ops.contains(txn, db, key)
    }

    /// All entries whose key starts with `prefix` (everything when empty), in key order.
    public func entries(_ db: Database, prefix: [UInt8] = []) throws(StorageError) -> [Cursor.Entry] {
        try Ops.entries(txn, db, prefix: prefix)
    }

    /// Runs `body` with a cursor over `db`; the cursor is closed when `body` returns.
    /// Do not write to `db` while iterating.
    public func withCursor<R>(_ db: Database, _ body: (borrowing Cursor) throws -> R) throws -> R {
        try Ops.withCursor(txn, db, body)
    }

    /// Statistics of `db` as seen by this transaction.
    public func stats(_ db: Database) throws(StorageError) -> DatabaseStats {
        try Ops.stats(txn, db)
    }

    /// Opens or creates a database inside this transaction.
    func openDatabase(_ name: String?) throws(StorageError) -> Database {
        var dbi: MDB_dbi = 0
        let rc: Int32
        if let name {
            rc = mdb_dbi_open(txn, name, UInt32(MDB_CREATE), &dbi)
        } else {
            rc = mdb_dbi_open(txn, nil, UInt32(MDB_CREATE), &dbi)
        }
        try checkWrite(rc, "opening database \(name ?? "(main)")")
        return Database(dbi: dbi, name: name)
    }

    private func checkWrite(_ rc: Int32, _ context: @autoclosure () -> String) throws(StorageError) {
        if rc == MDB_MAP_FULL { mapFull.pointee = true }
        try check(rc, context())
    }
}

@available(*, unavailable, message: "LMDB transactions must stay on the thread that began them")
extension ReadTransaction: Sendable {}

@available(*, unavailable, message: "LMDB write transactions belong to the thread that began them")
extension WriteTransaction: Sendable {}

extension Database: CustomStringConvertible {
    /// `database "name"` or `main database`.
    public var description: String { name.map { "database \"\($0)\"" } ?? "main database" }
}

/// Read operations shared by both transaction kinds.
@usableFromInline
enum Ops {
    static func get(_ txn: OpaquePointer, _ db: Database, _ key: [UInt8]) throws(StorageError) -> [UInt8]? {
        try withBytes(key) { (key) throws(StorageError) -> [UInt8]? in
            guard let value = try lookup(txn, db, key) else { return nil }
            return bytes(value)
        }
    }

    static func contains(_ txn: OpaquePointer, _ db: Database, _ key: [UInt8]) throws(StorageError) -> Bool {
        try withBytes(key) { (key) throws(StorageError) -> Bool in try lookup(txn, db, key) != nil }
    }

    @inlinable
    static func withValue<R>(
        _ txn: OpaquePointer, _ db: Database, _ key: UnsafeRawBufferPointer,
        _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R? {
        guard let value = try lookup(txn, db, key) else { return nil }
        return try body(buffer(value))
    }

    @inlinable @inline(__always)
    static func lookup(
        _ txn: OpaquePointer, _ db: Database, _ key: UnsafeRawBufferPointer
    ) throws(StorageError) -> MDB_val? {
        var k = mdbVal(key)
        var v = MDB_val()
        let rc = mdb_get(txn, db.dbi, &k, &v)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "reading a key in \(db)")
        return v
    }

    static func withCursor<R>(
        _ txn: OpaquePointer, _ db: Database, _ body: (borrowing Cursor) throws -> R
    ) throws -> R {
        let cursor = try Cursor(txn: txn, db: db)
        return try body(cursor)
    }

    static func entries(
        _ txn: OpaquePointer, _ db: Database, prefix: [UInt8]
    ) throws(StorageError) -> [Cursor.Entry] {
        let cursor = try Cursor(txn: txn, db: db)
        return try cursor.entries(prefix: prefix)
    }

    static func stats(_ txn: OpaquePointer, _ db: Database) throws(StorageError) -> DatabaseStats {
        var st = MDB_stat()
        try check(mdb_stat(txn, db.dbi, &st), "reading statistics of \(db)")
        return DatabaseStats(
            entries: st.ms_entries, depth: Int(st.ms_depth), branchPages: st.ms_branch_pages,
            leafPages: st.ms_leaf_pages, overflowPages: st.ms_overflow_pages,
            pageSize: Int(st.ms_psize))
    }
}
