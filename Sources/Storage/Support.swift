// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import CLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A readers–writer lock guarding the environment handle.
///
/// Transactions hold it shared; closing the environment and resizing the map hold it
/// exclusively, because LMDB requires that no transaction of this process be active then.
/// The lock lives in manually allocated memory so its address never moves.
struct ReadWriteLock: ~Copyable {
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        pthread_rwlock_init(lock, nil)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// Runs `body` holding the lock shared.
    func shared<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    /// Runs `body` holding the lock exclusively.
    func exclusive<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}

/// Builds an `MDB_val` that points into `bytes` (valid only while `bytes` is).
@inlinable @inline(__always)
func mdbVal(_ bytes: UnsafeRawBufferPointer) -> MDB_val {
    MDB_val(mv_size: bytes.count, mv_data: UnsafeMutableRawPointer(mutating: bytes.baseAddress))
}

/// Views an `MDB_val` as a raw buffer (valid until the transaction writes or ends).
@inlinable @inline(__always)
func buffer(_ val: MDB_val) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(start: val.mv_data, count: val.mv_size)
}

/// Copies an `MDB_val` into a fresh array.
@inline(__always)
func bytes(_ val: MDB_val) -> [UInt8] {
    Array(buffer(val))
}

/// Creates `path` and any missing parents with mode 0700; fails if it is not a directory.
func makeDirectory(_ path: String) throws(StorageError) {
    var info = stat()
    if stat(path, &info) == 0 {
        if (info.st_mode & S_IFMT) == S_IFDIR { return }
        throw StorageError(
            code: .notDirectory,
            message: "opening environment at \(path): the path exists but is not a directory; "
                + "pass a directory (or a path that does not exist yet)",
            lmdbCode: ENOTDIR)
    }
    let parent = parentDirectory(of: path)
    if let parent, parent != path { try makeDirectory(parent) }
    if mkdir(path, 0o700) != 0 && errno != EEXIST {
        throw StorageError(lmdb: errno, while: "creating data directory \(path)")
    }
}

/// The parent of `path`, or nil for a root or single relative component.
private func parentDirectory(of path: String) -> String? {
    var trimmed = Substring(path)
    while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
    guard let slash = trimmed.lastIndex(of: "/") else { return nil }
    let parent = trimmed[..<slash]
    return parent.isEmpty ? "/" : String(parent)
}

/// `Array.withUnsafeBytes` with typed throws (the standard library's only rethrows).
@inline(__always)
func withBytes<R>(
    _ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(StorageError) -> R
) throws(StorageError) -> R {
    let result = array.withUnsafeBytes { raw in
        Result { () throws(StorageError) -> R in try body(raw) }
    }
    return try result.get()
}
