// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Foundation
import Storage
import Testing

@Suite("Environment and transactions")
struct StorageTests {
    @Test func putGetDelete() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path, options: fastOptions())
        let db = try env.database("items")
        try env.write { txn in try txn.put(db, b("k1"), b("v1")) }
        #expect(try env.read { try $0.get(db, b("k1")) } == b("v1"))
        #expect(try env.read { try $0.get(db, b("missing")) } == nil)
        #expect(try env.read { try $0.contains(db, b("k1")) })
        try env.write { txn in try txn.put(db, b("k1"), b("v2")) }
        #expect(try env.read { try $0.get(db, b("k1")) } == b("v2"))
        #expect(try env.write { try $0.delete(db, b("k1")) } == true)
        #expect(try env.write { try $0.delete(db, b("k1")) } == false)
        #expect(try env.read { try $0.get(db, b("k1")) } == nil)
    }

    @Test func writesAreVisibleInsideTheirTransaction() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path, options: fastOptions())
        let db = try env.database("items")
        let seen = try env.write { (txn) throws in
            try txn.put(db, b("k"), b("v"))
            return try txn.get(db, b("k"))
        }
        #expect(seen == b("v"))
    }

    @Test func namedDatabasesAreSeparate() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path, options: fastOptions())
        let one = try env.database("one")
        let two = try env.database("two")
        #expect(one != two)
        #expect(try env.database("one") == one)
        try env.write { (txn) throws in
            try txn.put(one, b("key"), b("from one"))
            try txn.put(two, b("other"), b("from two"))
        }
        try env.read { (txn) throws in
            #expect(try txn.get(one, b("key")) == b("from one"))
            #expect(try txn.get(two, b("key")) == nil)
            #expect(try txn.get(one, b("other")) == nil)
        }
        #expect(try env.stats(one).entries == 1)
        #expect(try env.stats(two).entries == 1)
    }

    @Test func throwingBodyAbortsEverything() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path, options: fastOptions())
        let db = try env.database("items")
        try env.write { try $0.put(db, b("kept"), b("1")) }
        #expect(throws: Marker.self) {
            try env.write { (txn) throws in
                try txn.put(db, b("a"), b("1"))
                try txn.delete(db, b("kept"))
                throw Marker()
            }
        }
        try env.read { (txn) throws in
            #expect(try txn.get(db, b("a")) == nil)
            #expect(try txn.get(db, b("kept")) == b("1"))
        }
    }

    @Test func noOverwriteThrowsKeyExist() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path, options: fastOptions())
        let db = try env.database("items")
        try env.write { try $0.put(db, b("k"), b("first")) }
        var matched = false
        do {
            try env.write { try $0.put(db, b("k"), b("second"), flags: .noOverwrite) }
        } catch StorageError.Code.keyExist {
            matched = true
        }
        #expect(matched)
        #expect(try env.read { try $0.get(db, b("k")) } == b("first"))
    }

    @Test func emptyKeyIsRejectedWithBadValueSize() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path, options: fastOptions())
        let db = try env.database("items")
        let error = #expect(throws: StorageError.self) {
            try env.write { try $0.put(db, [], b("v")) }
        }
        #expect(error?.code == .badValueSize)
        #expect(error?.lmdbCode != 0)
    }

    @Test func clearEmptiesOneDatabase() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path, options: fastOptions())
        let db = try env.database("items")
        let other = try env.database("other")
        try env.write { (txn) throws in
            for i in 0..<50 { try txn.put(db, b("k\(i)"), b("v")) }
            try txn.put(other, b("x"), b("y"))
        }
        try env.write { try $0.clear(db) }
        #expect(try env.stats(db).entries == 0)
        #expect(try env.stats(other).entries == 1)
    }

    @Test func zeroCopyReadAndReservedWrite() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path, options: fastOptions())
        let db = try env.database("items")
        try env.write { (txn) throws in
            try txn.putReserved(db, b("big"), count: 1000) { buffer in
                for i in buffer.indices { buffer[i] = UInt8(i % 251) }
            }
        }
        let sum = try env.read { (txn) throws in
            try txn.withValue(db, b("big")) { raw in raw.reduce(0) { $0 + Int($1) } }
        }
        #expect(sum == (0..<1000).reduce(0) { $0 + $1 % 251 })
        let missing = try env.read { txn in try txn.withValue(db, b("nope")) { $0.count } }
        #expect(missing == nil)
    }

    @Test func reopeningFindsCommittedData() throws {
        let dir = TemporaryDirectory()
        do {
            let env = try Environment(path: dir.path)
            let db = try env.database("items")
            try env.write { (txn) throws in
                for i in 0..<100 { try txn.put(db, b("key\(i)"), b("value\(i)")) }
            }
            env.close()
        }
        let env = try Environment(path: dir.path)
        let db = try env.database("items")
        try env.read { (txn) throws in
            for i in 0..<100 { #expect(try txn.get(db, b("key\(i)")) == b("value\(i)")) }
        }
        #expect(try env.stats(db).entries == 100)
    }

    @Test func closeIsIdempotentAndLaterCallsFail() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path, options: fastOptions())
        let db = try env.database("items")
        env.close()
        env.close()
        #expect(env.mapSize == 0)
        let error = #expect(throws: StorageError.self) {
            try env.read { try $0.get(db, b("k")) }
        }
        #expect(error?.code == .closed)
        #expect(throws: StorageError.self) { try env.database("again") }
    }

    @Test func directoryIsCreatedWithOwnerOnlyMode() throws {
        let dir = TemporaryDirectory()
        let nested = dir.path + "/a/b/data"
        let env = try Environment(path: nested, options: fastOptions())
        defer { env.close() }
        let attributes = try FileManager.default.attributesOfItem(atPath: nested)
        let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o700)
        #expect(FileManager.default.fileExists(atPath: nested + "/data.mdb"))
    }

    @Test func concurrentReadersAndWritersWithGrowth() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path, options: fastOptions(mapSize: 64 << 10))
        let db = try env.database("items")
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            do {
                for i in 0..<100 {
                    try env.write { (txn) throws in
                        try txn.put(db, b("w\(worker)/\(i)"), [UInt8](repeating: 7, count: 900))
                    }
                    let value = try env.read { try $0.get(db, b("w\(worker)/\(i)")) }
                    if value?.count != 900 { failures.add("worker \(worker) lost \(i)") }
                }
            } catch {
                failures.add("worker \(worker): \(error)")
            }
        }
        #expect(failures.messages.isEmpty, "\(failures.messages)")
        #expect(try env.stats(db).entries == 400)
        #expect(env.mapSize > 64 << 10)
    }
}

/// Thread-safe collection of failure messages.
final class Failures: @unchecked Sendable {  // guarded by `lock`
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ message: String) { lock.withLock { list.append(message) } }
    var messages: [String] { lock.withLock { list } }
}
