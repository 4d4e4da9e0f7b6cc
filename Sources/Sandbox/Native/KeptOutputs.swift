// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import PotluckCrypto
#if canImport(Glibc)
import Glibc
#endif

/// A finished native task's output files, left on the lender's disk to be sent by content
/// (`spec/0020-file-transfer.md` §5) rather than carried in the outcome: memory stays flat for
/// any size. The task's processes are all gone, so the files no longer change; whoever holds
/// this value removes them (``remove()``) once they are sent or no longer wanted.
public struct KeptOutputs: Sendable {
    /// One output: its flat name, the BLAKE2b-256 of its bytes, its size and where it lies.
    public struct File: Sendable, Hashable {
        public var name: String
        public var digest: Bytes32
        public var size: Int64
        public var path: String
    }

    /// The outputs, by name.
    public let files: [File]
    /// The task's directory, removed with everything in it by ``remove()``.
    let root: String

    /// No outputs and nothing to remove.
    public static let none = KeptOutputs(files: [], root: "")

    /// Deletes the files and the task's directory.
    public func remove() {
        if !root.isEmpty { ScratchDirectory.removeTree(root) }
    }

    /// BLAKE2b-256 and size of the regular file at `path`, without following a symbolic link;
    /// `nil` when it cannot be read.
    static func hash(file path: String) -> (digest: Bytes32, size: Int64)? {
        Blake2b.hashFile(atPath: path, followingLinks: false)
    }
}
