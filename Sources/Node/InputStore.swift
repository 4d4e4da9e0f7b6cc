import PotluckCrypto
import Foundation

/// A store of files named by content (`spec/0020-file-transfer.md`): the lender's task inputs
/// (`DIR/files`), and the outputs arriving at a borrower (spec §5). `HEX` holds verified
/// files, `partial/HEX` the part of a file received so far. A file shared by many tasks crosses once; a transfer cut off resumes at the partial
/// file's length; a file whose bytes do not hash to its name is discarded whole. Files not used
/// for a day are removed, and the oldest go first when the store passes its cap.
public struct InputStore: Sendable {
    public let directory: String
    /// The most bytes kept (complete files); the least recently used go first beyond it.
    public let capBytes: Int64

    /// The lender's input store in its data directory.
    public init(dataDirectory: String, capBytes: Int64 = 8 << 30) {
        self.init(directory: dataDirectory + "/files", capBytes: capBytes)
    }

    /// A store in `directory` (made when the first file arrives).
    public init(directory: String, capBytes: Int64 = 8 << 30) {
        self.directory = directory
        self.capBytes = capBytes
    }

    public func path(of digest: Bytes32) -> String { directory + "/" + digest.hex }
    func partialPath(of digest: Bytes32) -> String { directory + "/partial/" + digest.hex }

    /// Whether the verified file is here; marks it used.
    public func has(_ digest: Bytes32) -> Bool {
        guard FileManager.default.fileExists(atPath: path(of: digest)) else { return false }
        try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: path(of: digest))
        return true
    }

    /// Bytes already received of a file not yet complete (where a transfer resumes).
    public func receivedBytes(of digest: Bytes32) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: partialPath(of: digest)))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    /// Stores whole bytes (an inline file); their name is their digest.
    @discardableResult
    public func put(_ bytes: [UInt8]) throws(NodeError) -> Bytes32 {
        let digest = Blake2b.hash256(bytes)
        guard !has(digest) else { return digest }
        try prepare()
        let temporary = partialPath(of: digest) + ".inline"
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: temporary))
            try FileManager.default.moveItem(atPath: temporary, toPath: path(of: digest))
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            if !has(digest) { throw NodeError("cannot store an input: \(error.localizedDescription)") }
        }
        return digest
    }

    /// Appends a chunk of `digest` at `offset` of a file of `size` bytes. Returns true once the
    /// file is complete and verified. Throws when the chunk does not continue the partial file,
    /// overruns `size`, or the completed file's bytes do not hash to `digest` (then the partial
    /// file is discarded).
    public func append(_ data: [UInt8], to digest: Bytes32, at offset: Int64, size: Int64) throws(NodeError) -> Bool {
        if has(digest) { return true }
        try prepare()
        let partial = partialPath(of: digest)
        let have = receivedBytes(of: digest)
        guard offset == have else { throw NodeError("a chunk of \(digest.hex.prefix(16)) starts at \(offset), but \(have) bytes are here") }
        guard size >= 0, offset + Int64(data.count) <= size else { throw NodeError("a chunk of \(digest.hex.prefix(16)) runs past its size \(size)") }
        if !FileManager.default.fileExists(atPath: partial) { FileManager.default.createFile(atPath: partial, contents: nil) }
        do {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: partial))
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: data)
        } catch { throw NodeError("cannot write a file: \(error.localizedDescription)") }
        guard offset + Int64(data.count) == size else { return false }
        guard (try? Self.hash(file: partial)) == digest else {
            try? FileManager.default.removeItem(atPath: partial)
            throw NodeError("the file sent as \(digest.hex.prefix(16)) has other bytes; it was discarded")
        }
        do { try FileManager.default.moveItem(atPath: partial, toPath: path(of: digest)) } catch {
            if !has(digest) { throw NodeError("cannot keep a file: \(error.localizedDescription)") }
        }
        return true
    }

    /// Removes files unused for `maxAge`, then the least recently used beyond `capBytes`.
    public func prune(maxAge: TimeInterval = 86_400, now: Date = Date()) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var files: [(path: String, used: Date, size: Int64)] = []
        for name in names where name.count == 64 {
            let path = directory + "/" + name
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                  let used = attributes[.modificationDate] as? Date else { continue }
            let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
            if now.timeIntervalSince(used) > maxAge { try? FileManager.default.removeItem(atPath: path) } else { files.append((path, used, size)) }
        }
        var total = files.reduce(0) { $0 + $1.size }
        for file in files.sorted(by: { $0.used < $1.used }) where total > capBytes {
            try? FileManager.default.removeItem(atPath: file.path)
            total -= file.size
        }
    }

    private func prepare() throws(NodeError) {
        do { try FileManager.default.createDirectory(atPath: directory + "/partial", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) } catch {
            throw NodeError("cannot create \(directory): \(error.localizedDescription)")
        }
    }

    /// BLAKE2b-256 of a file (a symbolic link is followed: a borrower's input may be one),
    /// read at most 1 MiB at a time (memory stays flat).
    public static func hash(file path: String) throws(NodeError) -> Bytes32 {
        guard let (digest, _) = Blake2b.hashFile(atPath: path, followingLinks: true) else { throw NodeError("cannot read \(path)") }
        return digest
    }
}
