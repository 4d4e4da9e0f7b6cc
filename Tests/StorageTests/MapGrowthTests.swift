// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Storage
import Testing

@Suite("Map growth")
struct MapGrowthTests {
    static let start = 64 << 10

    private func value(_ i: Int, size: Int) -> [UInt8] {
        (0..<size).map { UInt8(truncatingIfNeeded: i &* 7 &+ $0) }
    }

    @Test func growsAcrossManySmallTransactions() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path, options: fastOptions(mapSize: Self.start))
        let db = try env.database("items")
        var runs = 0
        for t in 0..<300 {
            try env.write { (txn) throws in
                runs += 1
                for j in 0..<10 { try txn.put(db, b("t\(t)/\(j)"), value(t * 10 + j, size: 1000)) }
            }
        }
        #expect(runs > 300, "some bodies should have been re-run after MDB_MAP_FULL")
        #expect(env.mapSize >= 4 << 20)
        try env.read { (txn) throws in
            for t in 0..<300 {
                for j in 0..<10 { #expect(try txn.get(db, b("t\(t)/\(j)")) == value(t * 10 + j, size: 1000)) }
            }
        }
    }

    @Test func growsForOneBigTransaction() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path, options: fastOptions(mapSize: Self.start))
        let db = try env.database("items")
        try env.write { (txn) throws in
            for i in 0..<800 { try txn.put(db, b("big/\(i)"), value(i, size: 4000)) }
        }
        #expect(env.mapSize >= 4 << 20)
        #expect(try env.stats(db).entries == 800)
        try env.read { (txn) throws in
            for i in 0..<800 { #expect(try txn.get(db, b("big/\(i)")) == value(i, size: 4000)) }
        }
        env.close()
        let reopened = try Environment(path: dir.path, options: fastOptions(mapSize: Self.start))
        let again = try reopened.database("items")
        #expect(try reopened.stats(again).entries == 800)
    }

    @Test func stopsAtTheCeilingWithMapFull() throws {
        let dir = TemporaryDirectory()
        var options = fastOptions(mapSize: Self.start)
        options.maxMapSize = 256 << 10
        let env = try Environment(path: dir.path, options: options)
        let db = try env.database("items")
        let error = #expect(throws: StorageError.self) {
            try env.write { (txn) throws in
                for i in 0..<400 { try txn.put(db, b("k\(i)"), value(i, size: 2000)) }
            }
        }
        #expect(error?.code == .mapFull)
        #expect(error?.message.contains("maxMapSize") == true)
        #expect(env.mapSize == 256 << 10)
        #expect(try env.stats(db).entries == 0)
    }

    @Test func swallowedMapFullStillGrowsAndRetries() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path, options: fastOptions(mapSize: Self.start))
        let db = try env.database("items")
        try env.write { (txn) throws in
            for i in 0..<200 {
                do { try txn.put(db, b("k\(i)"), value(i, size: 2000)) } catch {}
            }
        }
        #expect(try env.stats(db).entries == 200)
    }
}
