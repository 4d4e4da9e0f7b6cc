import Foundation
import PotluckCrypto
import Testing

@Suite("Hashing a file")
struct FileHashTests {
    /// Sizes around the read size: empty, small, exactly one read, one read and a bit.
    @Test(arguments: [0, 100, Blake2b.fileReadBytes, Blake2b.fileReadBytes * 2 + 3])
    func aFileHashesAsItsBytesDo(size: Int) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
        try Data(bytes).write(to: URL(fileURLWithPath: directory + "/f"))
        let hashed = try #require(Blake2b.hashFile(atPath: directory + "/f", followingLinks: false))
        #expect(hashed.size == Int64(size))
        #expect(hashed.digest == bytes.withUnsafeBytes { Blake2b.hash256($0) })
    }

    @Test func aLinkIsFollowedOnlyWhenAskedAndADirectoryIsNoFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data("photo".utf8).write(to: URL(fileURLWithPath: directory + "/f"))
        try FileManager.default.createSymbolicLink(atPath: directory + "/link", withDestinationPath: directory + "/f")
        #expect(Blake2b.hashFile(atPath: directory + "/link", followingLinks: false) == nil)
        #expect(Blake2b.hashFile(atPath: directory + "/link", followingLinks: true)?.size == 5)
        #expect(Blake2b.hashFile(atPath: directory, followingLinks: true) == nil)
        #expect(Blake2b.hashFile(atPath: directory + "/absent", followingLinks: true) == nil)
    }

    private func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "/potluck-filehash-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
