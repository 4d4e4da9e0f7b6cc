// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import CLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error raised by the storage layer.
///
/// Every error carries a ``Code`` to branch on, a ``message`` written for a person (what
/// failed and what to do about it), and the underlying LMDB (or `errno`) code with its
/// `mdb_strerror` text. Codes can be matched directly in `catch` clauses:
///
/// ```swift
/// do { try txn.put(db, key, value, flags: .noOverwrite) }
/// catch StorageError.Code.keyExist { /* already there */ }
/// ```
public struct StorageError: Error, Sendable, CustomStringConvertible {
    /// A stable, symbolic classification of a storage error.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The symbolic name of the code, e.g. `"mapFull"`.
        public let rawValue: String
        /// Creates a code from its symbolic name.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The symbolic name of the code.
        public var description: String { rawValue }

        /// The key or item was not found (`MDB_NOTFOUND`).
        public static let notFound = Code(rawValue: "notFound")
        /// The key already exists and `.noOverwrite` was given (`MDB_KEYEXIST`).
        public static let keyExist = Code(rawValue: "keyExist")
        /// The memory map is full and cannot grow further (`MDB_MAP_FULL`).
        public static let mapFull = Code(rawValue: "mapFull")
        /// Another process grew the map (`MDB_MAP_RESIZED`).
        public static let mapResized = Code(rawValue: "mapResized")
        /// All reader slots are in use (`MDB_READERS_FULL`).
        public static let readersFull = Code(rawValue: "readersFull")
        /// `Options.maxDatabases` named databases are already open (`MDB_DBS_FULL`).
        public static let databasesFull = Code(rawValue: "databasesFull")
        /// The transaction has too many dirty pages (`MDB_TXN_FULL`).
        public static let transactionFull = Code(rawValue: "transactionFull")
        /// Internal LMDB limits were hit (`MDB_CURSOR_FULL`, `MDB_PAGE_FULL`, `MDB_TLS_FULL`).
        public static let limitReached = Code(rawValue: "limitReached")
        /// The data file is damaged (`MDB_CORRUPTED`, `MDB_PAGE_NOTFOUND`).
        public static let corrupted = Code(rawValue: "corrupted")
        /// LMDB hit a fatal error and the environment must be reopened (`MDB_PANIC`).
        public static let panic = Code(rawValue: "panic")
        /// The file was written by an incompatible LMDB version (`MDB_VERSION_MISMATCH`).
        public static let versionMismatch = Code(rawValue: "versionMismatch")
        /// The file is not an LMDB data file (`MDB_INVALID`).
        public static let invalid = Code(rawValue: "invalid")
        /// The database was opened with incompatible flags (`MDB_INCOMPATIBLE`).
        public static let incompatible = Code(rawValue: "incompatible")
        /// The transaction or reader slot is unusable (`MDB_BAD_TXN`, `MDB_BAD_RSLOT`).
        public static let badTransaction = Code(rawValue: "badTransaction")
        /// A key is empty or too long, or a value too long (`MDB_BAD_VALSIZE`).
        public static let badValueSize = Code(rawValue: "badValueSize")
        /// The database handle is not valid (`MDB_BAD_DBI`).
        public static let badDatabase = Code(rawValue: "badDatabase")
        /// The environment has been closed.
        public static let closed = Code(rawValue: "closed")
        /// The path exists but is not a directory (`ENOTDIR`).
        public static let notDirectory = Code(rawValue: "notDirectory")
        /// A file or directory is missing (`ENOENT`).
        public static let noSuchFile = Code(rawValue: "noSuchFile")
        /// The process may not access the files (`EACCES`, `EPERM`, `EROFS`).
        public static let permissionDenied = Code(rawValue: "permissionDenied")
        /// The disk is full (`ENOSPC`).
        public static let noSpace = Code(rawValue: "noSpace")
        /// An argument was rejected (`EINVAL`).
        public static let invalidArgument = Code(rawValue: "invalidArgument")
        /// Any other system or LMDB failure (usually I/O).
        public static let io = Code(rawValue: "io")

        /// Lets a code be used as a pattern against any error, e.g. in `catch`.
        public static func ~= (pattern: Code, error: any Error) -> Bool {
            (error as? StorageError)?.code == pattern
        }

        /// Lets a code be used as a pattern against a storage error (typed throws).
        public static func ~= (pattern: Code, error: StorageError) -> Bool {
            error.code == pattern
        }

        /// Classifies an LMDB return code or `errno` value.
        static func classify(_ rc: Int32) -> Code {
            switch rc {
            case MDB_NOTFOUND: .notFound
            case MDB_KEYEXIST: .keyExist
            case MDB_MAP_FULL: .mapFull
            case MDB_MAP_RESIZED: .mapResized
            case MDB_READERS_FULL: .readersFull
            case MDB_DBS_FULL: .databasesFull
            case MDB_TXN_FULL: .transactionFull
            case MDB_CURSOR_FULL, MDB_PAGE_FULL, MDB_TLS_FULL: .limitReached
            case MDB_CORRUPTED, MDB_PAGE_NOTFOUND: .corrupted
            case MDB_PANIC: .panic
            case MDB_VERSION_MISMATCH: .versionMismatch
            case MDB_INVALID: .invalid
            case MDB_INCOMPATIBLE: .incompatible
            case MDB_BAD_TXN, MDB_BAD_RSLOT: .badTransaction
            case MDB_BAD_VALSIZE: .badValueSize
            case MDB_BAD_DBI: .badDatabase
            case ENOTDIR: .notDirectory
            case ENOENT: .noSuchFile
            case EACCES, EPERM, EROFS: .permissionDenied
            case ENOSPC: .noSpace
            case EINVAL: .invalidArgument
            default: .io
            }
        }

        /// What a person can do about an error with this code.
        var advice: String {
            switch self {
            case .mapFull: "the database reached Options.maxMapSize; raise it or delete data"
            case .readersFull:
                "too many concurrent read transactions; raise Options.maxReaders or end reads sooner"
            case .databasesFull: "too many named databases; raise Options.maxDatabases"
            case .transactionFull: "the write transaction is too large; split it into smaller ones"
            case .corrupted, .panic:
                "the data file is damaged; restore the data directory from a backup or remove it"
            case .versionMismatch, .invalid:
                "the directory holds a file that is not a compatible LMDB environment"
            case .badValueSize: "keys must be 1 to 511 bytes long"
            case .notDirectory: "the path must be a directory (or not exist yet)"
            case .permissionDenied: "check the ownership and permissions of the data directory"
            case .noSpace: "free disk space and retry"
            case .closed: "the environment was closed; open a new one"
            default: "see the LMDB message for details"
            }
        }
    }

    /// The classification of this error.
    public let code: Code
    /// The raw LMDB return code or `errno` value (0 when the error did not come from C).
    public let lmdbCode: Int32
    /// What failed and what a person can do about it.
    public let message: String

    /// The `mdb_strerror` text for ``lmdbCode`` (empty when ``lmdbCode`` is 0).
    public var lmdbMessage: String {
        lmdbCode == 0 ? "" : String(cString: mdb_strerror(lmdbCode))
    }

    /// Creates an error. Prefer the throwing helpers inside the module.
    public init(code: Code, message: String, lmdbCode: Int32 = 0) {
        self.code = code
        self.message = message
        self.lmdbCode = lmdbCode
    }

    /// Wraps a non-zero LMDB return code, describing what was being done.
    @usableFromInline
    init(lmdb rc: Int32, while context: String) {
        let code = Code.classify(rc)
        self.init(code: code, message: "\(context): \(code.advice)", lmdbCode: rc)
    }

    /// A one-line summary: code, message, and the LMDB code and text.
    public var description: String {
        if lmdbCode == 0 { return "StorageError.\(code): \(message)" }
        return "StorageError.\(code): \(message) [LMDB \(lmdbCode): \(lmdbMessage)]"
    }
}

/// Throws a ``StorageError`` when an LMDB call did not return 0.
@inline(__always)
@inlinable
func check(_ rc: Int32, _ context: @autoclosure () -> String) throws(StorageError) {
    if rc != 0 { throw StorageError(lmdb: rc, while: context()) }
}
