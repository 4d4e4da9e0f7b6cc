import PotluckCrypto
import Foundation
import Testing
@testable import Node

/// The lender's content-addressed input store (spec 0020): files by digest, resumable, verified.
@Suite struct InputStoreTests {
    let root = NSTemporaryDirectory() + "potluck-inputs-\(UUID().uuidString.prefix(8))"
    var store: InputStore { InputStore(dataDirectory: root) }
    let bytes: [UInt8] = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) }

    @Test func aFileArrivesInChunksAndResumesWhereItStopped() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let digest = Blake2b.hash256(bytes)
        #expect(!store.has(digest) && store.receivedBytes(of: digest) == 0)
        #expect(try store.append(Array(bytes[0..<1_000_000]), to: digest, at: 0, size: 3_000_000) == false)
        // The borrower went away; a new transfer asks where to resume.
        #expect(store.receivedBytes(of: digest) == 1_000_000)
        #expect(throws: NodeError.self) { try store.append(Array(bytes[0..<1_000_000]), to: digest, at: 0, size: 3_000_000) }
        #expect(try store.append(Array(bytes[1_000_000..<2_000_000]), to: digest, at: 1_000_000, size: 3_000_000) == false)
        #expect(try store.append(Array(bytes[2_000_000...]), to: digest, at: 2_000_000, size: 3_000_000))
        #expect(store.has(digest))
        #expect(FileManager.default.contents(atPath: store.path(of: digest)) == Data(bytes))
    }

    @Test func bytesThatDoNotMatchTheirNameAreDiscarded() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let digest = Blake2b.hash256(bytes)
        var forged = bytes
        forged[42] ^= 1
        #expect(throws: NodeError.self) { try store.append(forged, to: digest, at: 0, size: Int64(forged.count)) }
        #expect(!store.has(digest) && store.receivedBytes(of: digest) == 0, "nothing of it is kept")
        #expect(throws: NodeError.self) { try store.append([1, 2, 3], to: digest, at: 0, size: 2) }
    }

    @Test func inlineFilesAreNamedByTheirDigestAndPrunedWhenOld() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let digest = try store.put([1, 2, 3])
        #expect(digest == Blake2b.hash256([1, 2, 3]) && store.has(digest))
        store.prune(now: Date().addingTimeInterval(3600))
        #expect(store.has(digest), "used within the day: kept")
        store.prune(now: Date().addingTimeInterval(2 * 86_400))
        #expect(!store.has(digest))
    }
}
