import Foundation
#if canImport(Glibc)
import Glibc
#endif
import JobChannel
import Jobs
import PotluckCrypto

/// Sends files by content over the job channel (`spec/0020-file-transfer.md` §3, §5): the
/// borrower its task's inputs, the lender a task's outputs. Each file goes in `chunk`s of at
/// most `JobMessage.chunkBytes` read from disk, so memory stays flat for any size.
enum FileChunks {
    /// Sends the bytes of `path` (named `digest`) from `offset` to its end; `sent` hears each
    /// chunk's size. An empty file is one chunk with no data. Stops when the task is cancelled.
    static func send(_ digest: Bytes32, at path: String, from offset: Int64, on connection: SecureConnection,
                     sent: (Int64) -> Void = { _ in }) async throws(FileChunkError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .file("cannot read \(path)") }
        defer { close(fd) }
        let size = Int64(lseek(fd, 0, SEEK_END))
        guard size >= 0, offset <= size else { throw .file("cannot read \(path)") }
        var position = offset
        repeat {
            // A cancelled run (a detached job cancelled, a node stopping) stops sending at once.
            if Task.isCancelled { throw .channel("cancelled while sending files") }
            // No larger than what is left: a 100 KB output costs no 1 MiB buffer.
            let wanted = Int(min(Int64(JobMessage.chunkBytes), size - position))
            let data = try read(fd, wanted, at: position, path: path)
            guard data.count == wanted else { throw .file("\(path) shrank while it was sent") }
            do { try await connection.send(JobMessage.chunk(file: digest, offset: position, size: size, data: data).encoded()) } catch {
                throw .channel("\(error)")
            }
            position += Int64(data.count)
            sent(Int64(data.count))
            if data.isEmpty { break }
        } while position < size
    }

    /// Up to `count` bytes of `fd` at `offset` (fewer only at its end).
    private static func read(_ fd: Int32, _ count: Int, at offset: Int64, path: String) throws(FileChunkError) -> [UInt8] {
        var failure: Int32 = 0
        let data = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = 0
            while initialized < count {
                let got = pread(fd, buffer.baseAddress! + initialized, count - initialized, off_t(offset) + off_t(initialized))
                if got < 0, errno == EINTR { continue }
                if got < 0 { failure = errno; return }
                if got == 0 { return }
                initialized += got
            }
        }
        guard failure == 0 else { throw .file("cannot read \(path): \(String(cString: strerror(failure)))") }
        return data
    }
}

/// Why a file could not be sent: this side could not read it, or the channel failed.
enum FileChunkError: Error, CustomStringConvertible {
    case file(String)
    case channel(String)

    var description: String {
        switch self {
        case .file(let reason), .channel(let reason): reason
        }
    }
}
