// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import CLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A position in a database, moving through keys in byte-wise (memcmp) order.
///
/// Obtained from `withCursor` on a transaction and closed when that closure returns;
/// being `~Copyable` and borrowed, it cannot outlive its transaction.
public struct Cursor: ~Copyable {
    /// A copied key/value pair.
    public typealias Entry = (key: [UInt8], value: [UInt8])

    private let cursor: OpaquePointer
    private let db: Database

    init(txn: OpaquePointer, db: Database) throws(StorageError) {
        var opened: OpaquePointer?
        try check(mdb_cursor_open(txn, db.dbi, &opened), "opening a cursor on \(db)")
        guard let opened else { throw StorageError(code: .io, message: "no cursor") }
        self.cursor = opened
        self.db = db
    }

    deinit { mdb_cursor_close(cursor) }

    /// Moves to the first entry; `nil` if the database is empty.
    public func first() throws(StorageError) -> Entry? { try copy(move(MDB_FIRST)) }

    /// Moves to the last entry; `nil` if the database is empty.
    public func last() throws(StorageError) -> Entry? { try copy(move(MDB_LAST)) }

    /// Moves to the next entry (the first one if unpositioned); `nil` past the end.
    public func next() throws(StorageError) -> Entry? { try copy(move(MDB_NEXT)) }

    /// Moves to the previous entry (the last one if unpositioned); `nil` before the start.
    public func previous() throws(StorageError) -> Entry? { try copy(move(MDB_PREV)) }

    /// Moves to the first entry whose key is `>= key` (`MDB_SET_RANGE`); `nil` if none.
    public func seek(atLeast key: [UInt8]) throws(StorageError) -> Entry? {
        try withBytes(key) { (key) throws(StorageError) -> Entry? in
            try copy(move(MDB_SET_RANGE, key: key))
        }
    }

    /// Moves to exactly `key`; `nil` (and unpositioned) if it is absent.
    public func seek(exactly key: [UInt8]) throws(StorageError) -> Entry? {
        try withBytes(key) { (key) throws(StorageError) -> Entry? in
            try copy(move(MDB_SET_KEY, key: key))
        }
    }

    /// Visits, in key order, every entry whose key starts with `prefix` (all entries when
    /// `prefix` is empty) without copying. Return `false` from `body` to stop early.
    /// The buffers are valid only during each call.
    public func scan(
        prefix: [UInt8] = [],
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try prefix.withUnsafeBytes { prefix in
            var entry = try prefix.isEmpty ? move(MDB_FIRST) : move(MDB_SET_RANGE, key: prefix)
            while let (key, value) = entry {
                let k = buffer(key)
                guard Self.hasPrefix(k, prefix), try body(k, buffer(value)) else { return }
                entry = try move(MDB_NEXT)
            }
        }
    }

    /// Copies, in key order, the entries whose key starts with `prefix` (all when empty),
    /// at most `limit` of them.
    public func entries(prefix: [UInt8] = [], limit: Int = .max) throws(StorageError) -> [Entry] {
        var result: [Entry] = []
        do {
            try scan(prefix: prefix) { key, value in
                result.append((Array(key), Array(value)))
                return result.count < limit
            }
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError(code: .io, message: "scanning \(db): \(error)")
        }
        return result
    }

    private static func hasPrefix(_ key: UnsafeRawBufferPointer, _ prefix: UnsafeRawBufferPointer) -> Bool {
        guard key.count >= prefix.count else { return false }
        guard let p = prefix.baseAddress, let k = key.baseAddress else { return true }
        return memcmp(k, p, prefix.count) == 0
    }

    private func move(
        _ op: MDB_cursor_op, key: UnsafeRawBufferPointer? = nil
    ) throws(StorageError) -> (MDB_val, MDB_val)? {
        var k = key.map(mdbVal) ?? MDB_val()
        var v = MDB_val()
        let rc = mdb_cursor_get(cursor, &k, &v, op)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "moving a cursor on \(db)")
        return (k, v)
    }

    private func copy(_ pair: (MDB_val, MDB_val)?) -> Entry? {
        pair.map { (bytes($0.0), bytes($0.1)) }
    }
}

@available(*, unavailable, message: "cursors belong to their transaction's thread")
extension Cursor: Sendable {}
