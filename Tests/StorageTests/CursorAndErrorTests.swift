// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Foundation
import Storage
import Testing

@Suite("Cursors")
struct CursorTests {
    let keys = ["b/2", "a/1", "c/1", "b/1", "b/10", "ba", "a/2", "b/3"]

    let dir = TemporaryDirectory()
    let env: Environment
    let db: Database

    init() throws {
        env = try Environment(path: dir.path, options: fastOptions())
        db = try env.database("items")
        try env.write { [db, keys] txn in
            for key in keys { try txn.put(db, b(key), b("v:" + key)) }
        }
    }

    @Test func iteratesAllEntriesInKeyOrder() throws {
        let entries = try env.read { try $0.entries(db) }
        #expect(entries.map { String(decoding: $0.key, as: UTF8.self) } == keys.sorted())
        #expect(entries.allSatisfy { $0.value == b("v:") + $0.key })
        let walked = try env.read { (txn) throws in
            try txn.withCursor(db) { (cursor) throws in
                var seen: [String] = []
                var entry = try cursor.first()
                while let (key, _) = entry {
                    seen.append(String(decoding: key, as: UTF8.self))
                    entry = try cursor.next()
                }
                return seen
            }
        }
        #expect(walked == keys.sorted())
    }

    @Test func prefixScanReturnsOnlyMatchingKeys() throws {
        let prefixed = try env.read { try $0.entries(db, prefix: b("b/")) }
        #expect(prefixed.map { String(decoding: $0.key, as: UTF8.self) } == ["b/1", "b/10", "b/2", "b/3"])
        #expect(try env.read { try $0.entries(db, prefix: b("zz")) }.isEmpty)
        let limited = try env.read { (txn) throws in
            try txn.withCursor(db) { try $0.entries(prefix: b("a"), limit: 1) }
        }
        #expect(limited.map(\.key) == [b("a/1")])
    }

    @Test func scanStopsWhenBodyReturnsFalse() throws {
        let count = try env.read { (txn) throws in
            try txn.withCursor(db) { (cursor) throws in
                var count = 0
                try cursor.scan { _, _ in
                    count += 1
                    return count < 3
                }
                return count
            }
        }
        #expect(count == 3)
    }

    @Test func seekFindsFirstKeyAtLeastTarget() throws {
        try env.read { (txn) throws in
            try txn.withCursor(db) { (cursor) throws in
                #expect(try cursor.seek(atLeast: b("b/11"))?.key == b("b/2"))
                #expect(try cursor.next()?.key == b("b/3"))
                #expect(try cursor.previous()?.key == b("b/2"))
                #expect(try cursor.seek(atLeast: b("d")) == nil)
                #expect(try cursor.seek(exactly: b("ba"))?.value == b("v:ba"))
                #expect(try cursor.seek(exactly: b("b")) == nil)
                #expect(try cursor.last()?.key == b("c/1"))
            }
        }
    }

    @Test func cursorWorksInsideWriteTransaction() throws {
        let keys = try env.write { (txn) throws in
            try txn.put(db, b("a/0"), b("new"))
            return try txn.withCursor(db) { try $0.entries(prefix: b("a/")) }.map(\.key)
        }
        #expect(keys == [b("a/0"), b("a/1"), b("a/2")])
    }
}

@Suite("Errors")
struct ErrorTests {
    @Test func regularFileIsNotAnEnvironmentDirectory() throws {
        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
        let file = dir.path + "/plain"
        try Data("hello".utf8).write(to: URL(fileURLWithPath: file))
        let error = #expect(throws: StorageError.self) { try Environment(path: file) }
        #expect(error?.code == .notDirectory)
        #expect(error?.lmdbCode == ENOTDIR)
        #expect(error?.lmdbMessage.isEmpty == false)
        #expect(error?.message.contains(file) == true)
        #expect(error.map { "\($0)" }?.contains("notDirectory") == true)
    }

    @Test func garbageDataFileIsInvalid() throws {
        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
        let garbage = Data((0..<16384).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try garbage.write(to: URL(fileURLWithPath: dir.path + "/data.mdb"))
        let error = #expect(throws: StorageError.self) { try Environment(path: dir.path) }
        #expect(error?.code == .invalid)
        #expect(error?.lmdbCode == -30793)  // MDB_INVALID
        #expect(error?.lmdbMessage.contains("MDB_INVALID") == true)
    }

    @Test func codesMatchInCatchPatterns() {
        let error: any Error = StorageError(code: .mapFull, message: "full", lmdbCode: -30792)
        var matched: StorageError.Code?
        switch error {
        case StorageError.Code.keyExist: matched = .keyExist
        case StorageError.Code.mapFull: matched = .mapFull
        default: matched = nil
        }
        #expect(matched == .mapFull)
        #expect("\(error)".contains("MDB_MAP_FULL"))
    }

    @Test func tooManyDatabasesReportsDatabasesFull() throws {
        let dir = TemporaryDirectory()
        var options = fastOptions()
        options.maxDatabases = 2
        let env = try Environment(path: dir.path, options: options)
        _ = try env.database("one")
        _ = try env.database("two")
        let error = #expect(throws: StorageError.self) { try env.database("three") }
        #expect(error?.code == .databasesFull)
        #expect(error?.message.contains("maxDatabases") == true)
    }
}
