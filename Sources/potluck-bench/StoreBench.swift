import CLMDB
import Storage
#if canImport(Glibc)
import Glibc
#endif

/// `potluck-bench store`: Potluck's LMDB layer beside raw `mdb_*` calls doing the same work on
/// twin environments (32-byte keys, 100-byte values, as in the stack notes). The goal is a layer
/// that costs under 10% (ratio ≥ 0.9).
func storeBench() -> [BenchResult] {
    let root = makeTemporaryDirectory()
    defer { removeTree(root) }
    let entries = 100_000
    let keys = (0..<entries).map(benchKey)
    let value = [UInt8](repeating: 0x5a, count: 100)

    var options = Environment.Options()
    options.noSync = true
    options.mapSize = 1 << 30
    let environment = try! Environment(path: root + "/potluck", options: options)
    let database = try! environment.database("bench")
    let raw = RawLMDB(path: root + "/raw", noSync: true)

    // Preload both with the same data.
    for chunk in stride(from: 0, to: entries, by: 10_000) {
        let slice = keys[chunk..<min(entries, chunk + 10_000)]
        try! environment.write { txn in for key in slice { try txn.put(database, key, value) } }
        raw.write { txn in for key in slice { raw.put(txn, key, value) } }
    }

    var results: [BenchResult] = []
    var cursor = 0
    func nextBatch(_ count: Int) -> ArraySlice<[UInt8]> {
        defer { cursor = (cursor + count) % (entries - count) }
        return keys[cursor..<cursor + count]
    }
    var putResult = compare(bench: "store", caseName: "put, 1000 per txn (no sync)", iterations: 20, potluck: {
        let batch = nextBatch(1000)
        try! environment.write { txn in for key in batch { try txn.put(database, key, value) } }
    }, reference: {
        let batch = nextBatch(1000)
        raw.write { txn in for key in batch { raw.put(txn, key, value) } }
    })
    putResult = scaled(putResult, by: 1000, unit: "puts/s")
    results.append(putResult)

    var random = UInt64(0x1234_5678)
    func randomKey() -> [UInt8] {
        random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return keys[Int(random >> 33) % entries]
    }
    results.append(scaled(compare(bench: "store", caseName: "random get, 1000 per txn (zero-copy)", iterations: 30, potluck: {
        try! environment.read { txn in
            for _ in 0..<1000 { blackHole(try txn.withValue(database, randomKey()) { $0.count }) }
        }
    }, reference: {
        raw.read { txn in for _ in 0..<1000 { blackHole(raw.getCount(txn, randomKey())) } }
    }), by: 1000, unit: "gets/s"))
    results.append(scaled(compare(bench: "store", caseName: "random get, 1000 per txn (copy)", iterations: 30, potluck: {
        try! environment.read { txn in
            for _ in 0..<1000 { blackHole(try txn.get(database, randomKey())) }
        }
    }, reference: {
        raw.read { txn in for _ in 0..<1000 { blackHole(raw.getCopy(txn, randomKey())) } }
    }), by: 1000, unit: "gets/s"))

    environment.close()
    raw.close()
    return results
}

/// Converts a per-iteration rate into a per-item rate.
private func scaled(_ result: BenchResult, by factor: Double, unit: String) -> BenchResult {
    BenchResult(bench: result.bench, caseName: result.caseName, unit: unit,
                potluck: result.potluck * factor, reference: result.reference * factor)
}

private func benchKey(_ index: Int) -> [UInt8] {
    var key = [UInt8](repeating: 0, count: 32)
    var x = UInt64(index) &* 0x9E37_79B9_7F4A_7C15
    for i in 0..<32 {
        x ^= x >> 29; x = x &* 0xBF58_476D_1CE4_E5B9
        key[i] = UInt8(truncatingIfNeeded: x)
    }
    return key
}

/// The reference: LMDB called directly, with the same flags Potluck's layer uses.
private final class RawLMDB {
    let env: OpaquePointer
    var dbi: MDB_dbi = 0

    init(path: String, noSync: Bool) {
        mkdir(path, 0o700)
        var env: OpaquePointer?
        precondition(mdb_env_create(&env) == 0)
        self.env = env!
        mdb_env_set_mapsize(self.env, 1 << 30)
        mdb_env_set_maxdbs(self.env, 4)
        precondition(mdb_env_open(self.env, path, UInt32(MDB_NOTLS) | (noSync ? UInt32(MDB_NOSYNC) : 0), 0o600) == 0)
        write { txn in precondition(mdb_dbi_open(txn, "bench", UInt32(MDB_CREATE), &dbi) == 0) }
    }

    func write(_ body: (OpaquePointer) -> Void) {
        var txn: OpaquePointer?
        precondition(mdb_txn_begin(env, nil, 0, &txn) == 0)
        body(txn!)
        precondition(mdb_txn_commit(txn) == 0)
    }

    func read(_ body: (OpaquePointer) -> Void) {
        var txn: OpaquePointer?
        precondition(mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn) == 0)
        body(txn!)
        mdb_txn_abort(txn)
    }

    // The C API takes `MDB_val` with mutable pointers but does not write through them for keys
    // and for values passed to mdb_put, so borrowing the arrays' storage is safe and copy-free.
    func put(_ txn: OpaquePointer, _ key: [UInt8], _ value: [UInt8]) {
        key.withUnsafeBytes { k in
            value.withUnsafeBytes { v in
                var mk = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
                var mv = MDB_val(mv_size: v.count, mv_data: UnsafeMutableRawPointer(mutating: v.baseAddress))
                precondition(mdb_put(txn, dbi, &mk, &mv, 0) == 0)
            }
        }
    }

    func getCount(_ txn: OpaquePointer, _ key: [UInt8]) -> Int {
        key.withUnsafeBytes { k in
            var mk = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
            var mv = MDB_val()
            return mdb_get(txn, dbi, &mk, &mv) == 0 ? mv.mv_size : -1
        }
    }

    func getCopy(_ txn: OpaquePointer, _ key: [UInt8]) -> [UInt8]? {
        key.withUnsafeBytes { k in
            var mk = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
            var mv = MDB_val()
            guard mdb_get(txn, dbi, &mk, &mv) == 0 else { return nil }
            return Array(UnsafeRawBufferPointer(start: mv.mv_data, count: mv.mv_size))
        }
    }

    func close() { mdb_env_close(env) }
}

func makeTemporaryDirectory() -> String {
    var template = Array("/tmp/potluck-bench-XXXXXX".utf8CString)
    let path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    return path
}

func removeTree(_ path: String) {
    for name in ["potluck", "raw"] {
        for file in ["data.mdb", "lock.mdb"] { unlink("\(path)/\(name)/\(file)") }
        rmdir("\(path)/\(name)")
    }
    rmdir(path)
}
