// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import CLMDB

/// One LMDB environment: a directory holding `data.mdb` and `lock.mdb`.
///
/// A node keeps exactly one environment per data directory and opens it once per process
/// (LMDB's locks misbehave if one process opens the same environment twice). Named
/// ``Database``s inside it separate the modules' data.
///
/// Committed write transactions are durable: after ``write(_:)`` returns, the data
/// survives a crash or `kill -9` of the process at any moment (unless ``Options/noSync``).
///
/// - Note: `@unchecked Sendable` is safe because this class is the box around the C handle:
///   LMDB environment handles may be used from any thread, the environment is opened with
///   `MDB_NOTLS` so read transactions are not tied to threads, and the only mutable state
///   (`handle`) is written solely while holding `lock` exclusively (close, map resize)
///   and read while holding it shared (every transaction).
public final class Environment: @unchecked Sendable {
    /// How an environment is opened.
    public struct Options: Sendable {
        /// Initial size of the memory map in bytes; the map grows automatically.
        public var mapSize: Int = 64 << 20
        /// Maximum number of named databases.
        public var maxDatabases: UInt32 = 32
        /// Maximum number of concurrent read transactions (across processes).
        public var maxReaders: UInt32 = 126
        /// Ceiling for automatic map growth in bytes.
        public var maxMapSize: Int = 1 << 40
        /// Skips `fsync` on commit (`MDB_NOSYNC`). **Unsafe:** a system crash may lose or
        /// corrupt recent transactions. Only for tests and throwaway data.
        public var noSync: Bool = false
        /// Creates the default options.
        public init() {}
    }

    /// The directory holding the environment's files.
    public let path: String
    /// The options the environment was opened with.
    public let options: Options

    private let lock = ReadWriteLock()
    private var handle: OpaquePointer?

    /// Opens (creating if needed) the environment in directory `path`.
    ///
    /// Missing directories are created with mode 0700, data files with mode 0600.
    /// Reader slots left behind by crashed processes are cleared.
    public init(path: String, options: Options = .init()) throws(StorageError) {
        self.path = path
        self.options = options
        try makeDirectory(path)
        var created: OpaquePointer?
        try check(mdb_env_create(&created), "creating environment for \(path)")
        guard let env = created else {
            throw StorageError(code: .io, message: "mdb_env_create returned no handle")
        }
        do {
            try Self.configure(env, path: path, options: options)
        } catch {
            mdb_env_close(env)
            throw error
        }
        var stale: Int32 = 0
        _ = mdb_reader_check(env, &stale)
        handle = env
    }

    private static func configure(
        _ env: OpaquePointer, path: String, options: Options
    ) throws(StorageError) {
        let context = "opening environment at \(path)"
        try check(mdb_env_set_mapsize(env, options.mapSize), "\(context) (mapSize)")
        try check(mdb_env_set_maxdbs(env, MDB_dbi(options.maxDatabases)), "\(context) (maxDatabases)")
        try check(mdb_env_set_maxreaders(env, options.maxReaders), "\(context) (maxReaders)")
        var flags = UInt32(MDB_NOTLS)
        if options.noSync { flags |= UInt32(MDB_NOSYNC) }
        try check(mdb_env_open(env, path, flags, 0o600), context)
    }

    deinit { close() }

    /// Closes the environment. Idempotent; waits for running transactions to finish.
    /// Every later call fails with ``StorageError/Code/closed``.
    public func close() {
        lock.exclusive {
            if let env = handle {
                mdb_env_close(env)
                handle = nil
            }
        }
    }

    /// The current size of the memory map in bytes (0 once closed).
    public var mapSize: Int {
        lock.shared {
            guard let env = handle else { return 0 }
            return Self.currentMapSize(env)
        }
    }

    /// The longest key LMDB accepts, in bytes.
    public var maxKeySize: Int {
        lock.shared { handle.map { Int(mdb_env_get_maxkeysize($0)) } ?? 0 }
    }

    /// Flushes buffers to disk. Only needed with ``Options/noSync``; `force` flushes even
    /// then.
    public func sync(force: Bool) throws(StorageError) {
        try lock.shared { () throws(StorageError) in
            try check(mdb_env_sync(try openHandle(), force ? 1 : 0), "syncing \(path)")
        }
    }

    /// Opens the database `name`, creating it if needed; `nil` is the main database.
    ///
    /// Do not store your own keys in the main database once named databases exist:
    /// LMDB keeps their names there.
    public func database(_ name: String?) throws(StorageError) -> Database {
        do {
            return try write { txn in try txn.openDatabase(name) }
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError(code: .io, message: "opening database: \(error)")
        }
    }

    /// Statistics of `db`: entry count, B-tree depth and page counts.
    public func stats(_ db: Database) throws -> DatabaseStats {
        try read { txn in try txn.stats(db) }
    }

    /// Runs `body` in a read-only transaction seeing one consistent snapshot.
    ///
    /// The transaction ends when `body` returns; it cannot escape the closure and the
    /// closure is synchronous, so it cannot cross an `await`. Keep read bodies short:
    /// a long-lived reader keeps old pages from being reused. Do not call ``write(_:)``
    /// from inside `body`.
    public func read<T>(_ body: (borrowing ReadTransaction) throws -> T) throws -> T {
        while true {
            let attempt: Attempt<T> = try lock.shared {
                var txn: OpaquePointer?
                let rc = mdb_txn_begin(try openHandle(), nil, UInt32(MDB_RDONLY), &txn)
                if rc == MDB_MAP_RESIZED { return .adoptMapSize }
                try check(rc, "beginning read transaction in \(path)")
                guard let txn else { throw StorageError(code: .io, message: "no transaction") }
                defer { mdb_txn_abort(txn) }
                return .done(try body(ReadTransaction(txn: txn)))
            }
            switch attempt {
            case .done(let value): return value
            case .adoptMapSize: try adoptMapSize()
            case .grow: continue
            }
        }
    }

    /// Runs `body` in a write transaction: commits if it returns, aborts if it throws.
    ///
    /// Write transactions are serialized (one at a time, across processes). The closure is
    /// synchronous, so a write transaction never crosses an `await`.
    ///
    /// - Important: `body` may run more than once. When the map is full (from a put or
    ///   from the commit), the transaction is aborted, the map is doubled (up to
    ///   ``Options/maxMapSize``) and `body` runs again from scratch. Bodies must therefore
    ///   be re-runnable: no side effects outside the transaction that would be wrong to
    ///   repeat. Do not call ``read(_:)`` or ``write(_:)`` from inside `body`.
    public func write<T>(_ body: (borrowing WriteTransaction) throws -> T) throws -> T {
        while true {
            let attempt: Attempt<T> = try lock.shared { try attemptWrite(body) }
            switch attempt {
            case .done(let value): return value
            case .adoptMapSize: try adoptMapSize()
            case .grow(let observed): try grow(from: observed)
            }
        }
    }

    /// One try at a write transaction; caller holds `lock` shared.
    private func attemptWrite<T>(
        _ body: (borrowing WriteTransaction) throws -> T
    ) throws -> Attempt<T> {
        let env = try openHandle()
        var txn: OpaquePointer?
        let rc = mdb_txn_begin(env, nil, 0, &txn)
        if rc == MDB_MAP_RESIZED { return .adoptMapSize }
        try check(rc, "beginning write transaction in \(path)")
        guard let txn else { throw StorageError(code: .io, message: "no transaction") }
        let observed = Self.currentMapSize(env)
        var mapFull = false
        let value: T
        do {
            value = try withUnsafeMutablePointer(to: &mapFull) { flag in
                try body(WriteTransaction(txn: txn, mapFull: flag))
            }
        } catch {
            mdb_txn_abort(txn)
            if mapFull { return .grow(observed: observed) }
            throw error
        }
        if mapFull {
            mdb_txn_abort(txn)
            return .grow(observed: observed)
        }
        let commit = mdb_txn_commit(txn)  // frees txn, even on failure
        if commit == MDB_MAP_FULL { return .grow(observed: observed) }
        try check(commit, "committing write transaction in \(path)")
        return .done(value)
    }

    /// Doubles the map (up to the ceiling) unless another thread already grew it.
    private func grow(from observed: Int) throws(StorageError) {
        try lock.exclusive { () throws(StorageError) in
            let env = try openHandle()
            let current = Self.currentMapSize(env)
            if current > observed { return }
            let ceiling = max(options.maxMapSize, options.mapSize)
            guard current < ceiling else {
                throw StorageError(
                    code: .mapFull,
                    message: "writing to \(path): the map is \(current) bytes, the ceiling "
                        + "Options.maxMapSize; raise maxMapSize or delete data",
                    lmdbCode: MDB_MAP_FULL)
            }
            let target = current > ceiling / 2 ? ceiling : current * 2
            try check(mdb_env_set_mapsize(env, target), "growing the map of \(path) to \(target)")
        }
    }

    /// Adopts a map size grown by another process (`MDB_MAP_RESIZED`).
    private func adoptMapSize() throws(StorageError) {
        try lock.exclusive { () throws(StorageError) in
            try check(mdb_env_set_mapsize(try openHandle(), 0), "adopting the map size of \(path)")
        }
    }

    /// The open handle; caller holds `lock`.
    private func openHandle() throws(StorageError) -> OpaquePointer {
        guard let env = handle else {
            throw StorageError(
                code: .closed, message: "the environment at \(path) is closed; open a new one")
        }
        return env
    }

    private static func currentMapSize(_ env: OpaquePointer) -> Int {
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        return info.me_mapsize
    }

    private enum Attempt<T> {
        case done(T)
        case adoptMapSize
        case grow(observed: Int)
    }
}

/// A named database inside an ``Environment`` (an LMDB `MDB_dbi`).
///
/// Handles are plain values: valid for the lifetime of the environment they came from.
public struct Database: Sendable, Hashable {
    @usableFromInline let dbi: MDB_dbi
    /// The database's name; `nil` for the main database.
    public let name: String?
}

/// Statistics of one database.
public struct DatabaseStats: Sendable, Hashable {
    /// Number of key/value pairs.
    public var entries: Int
    /// Depth of the B-tree.
    public var depth: Int
    /// Number of internal (branch) pages.
    public var branchPages: Int
    /// Number of leaf pages.
    public var leafPages: Int
    /// Number of overflow pages (large values).
    public var overflowPages: Int
    /// Page size in bytes.
    public var pageSize: Int
}
