import Foundation
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
        guard let handle = FileHandle(forReadingAtPath: path),
              let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value, offset <= size
        else { throw .file("cannot read \(path)") }
        defer { try? handle.close() }
        var position = offset
        do { try handle.seek(toOffset: UInt64(offset)) } catch { throw .file("cannot read \(path): \(error)") }
        repeat {
            // A cancelled run (a detached job cancelled, a node stopping) stops sending at once.
            if Task.isCancelled { throw .channel("cancelled while sending files") }
            let data: [UInt8]
            do { data = Array(try handle.read(upToCount: JobMessage.chunkBytes) ?? Data()) } catch { throw .file("cannot read \(path): \(error)") }
            guard position + Int64(data.count) <= size else { throw .file("\(path) grew while it was sent") }
            do { try await connection.send(JobMessage.chunk(file: digest, offset: position, size: size, data: data).encoded()) } catch {
                throw .channel("\(error)")
            }
            position += Int64(data.count)
            sent(Int64(data.count))
            if data.isEmpty { break }
        } while position < size
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
