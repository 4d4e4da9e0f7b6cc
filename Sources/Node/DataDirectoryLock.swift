import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One node per data directory: `DIR/node.lock`, held with `flock(2)` for as long as the node
/// runs and holding its process id (spec 0008 §1.1).
///
/// The kernel releases the lock when the process ends, however it ends (`kill -9` included), so
/// a stale file never blocks a restart. The descriptor is close-on-exec: a sandboxed child never
/// inherits it and so never keeps the lock past its node.
public final class DataDirectoryLock: Sendable {
    public let path: String
    private let descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    public static func path(inDataDirectory directory: String) -> String { directory + "/node.lock" }

    /// Takes the lock of `directory`, or throws naming the process that holds it.
    public static func acquire(dataDirectory directory: String) throws(NodeError) -> DataDirectoryLock {
        let path = path(inDataDirectory: directory)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw NodeError("cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = readPID(fd)
            close(fd)
            let who = holder.map { "another node (pid \($0))" } ?? "another node"
            throw NodeError("\(who) is already running on \(directory); stop it with 'potluck stop --data-dir \(directory)' or use another --data-dir")
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return DataDirectoryLock(path: path, descriptor: fd)
    }

    /// The process that holds the lock of `directory` (0 when its pid cannot be read), or `nil`
    /// when no node runs there.
    public static func holder(ofDataDirectory directory: String) -> Int32? {
        let fd = open(path(inDataDirectory: directory), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        // A shared lock is granted only when no node holds the exclusive one.
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return nil
        }
        return readPID(fd) ?? 0
    }

    private static func readPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return Int32(String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Lets the lock go (also done by the kernel when the process ends).
    public func release() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
