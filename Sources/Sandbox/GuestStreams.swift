// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
@_spi(WASIPlatform) import WASI
import Synchronization

/// Thrown from inside a WASI call when the guest's output passes `outputBytes`; it unwinds
/// the guest's execution and becomes `.outputLimit`.
struct OutputLimitExceeded: Error {}

/// The output budget shared by stdout, stderr and (at exit) the output files.
final class OutputBudget: Sendable {
    private let remaining: Mutex<Int>

    init(bytes: Int) { remaining = Mutex(bytes) }

    /// Takes `count` bytes from the budget, or throws if fewer remain (taking none).
    func take(_ count: Int) throws(OutputLimitExceeded) {
        let granted = remaining.withLock { left -> Bool in
            guard count <= left else { return false }
            left -= count
            return true
        }
        guard granted else { throw OutputLimitExceeded() }
    }

    /// Bytes still available.
    var bytesLeft: Int { remaining.withLock { $0 } }
}

/// Shared behaviour of the three stdio entries: character devices that cannot seek.
protocol GuestStdioEntry: WASIFile {}

extension GuestStdioEntry {
    var isBorrowed: Bool { true }
    func attributes() throws -> WASIAbi.Filestat {
        WASIAbi.Filestat(dev: 0, ino: 0, filetype: .CHARACTER_DEVICE, nlink: 0, size: 0, atim: 0, mtim: 0, ctim: 0)
    }
    func fileType() throws -> WASIAbi.FileType { .CHARACTER_DEVICE }
    func status() throws -> WASIAbi.Fdflags { [] }
    func setTimes(atim: WASIAbi.Timestamp, mtim: WASIAbi.Timestamp, fstFlags: WASIAbi.FstFlags) throws {
        throw WASIAbi.Errno.ENOTSUP
    }
    func advise(offset: WASIAbi.FileSize, length: WASIAbi.FileSize, advice: WASIAbi.Advice) throws {}
    func close() throws {}
    func setFdStatFlags(_ flags: WASIAbi.Fdflags) throws {}
    func setFilestatSize(_ size: WASIAbi.FileSize) throws { throw WASIAbi.Errno.EINVAL }
    func sync() throws {}
    func datasync() throws {}
    func tell() throws -> WASIAbi.FileSize { throw WASIAbi.Errno.ESPIPE }
    func seek(offset: WASIAbi.FileDelta, whence: WASIAbi.Whence) throws -> WASIAbi.FileSize { throw WASIAbi.Errno.ESPIPE }
    func pwrite(vectored buffers: GuestBuffers, offset: WASIAbi.FileSize) throws -> WASIAbi.Size { throw WASIAbi.Errno.ESPIPE }
    func pread(into buffers: GuestBuffers, offset: WASIAbi.FileSize) throws -> WASIAbi.Size { throw WASIAbi.Errno.ESPIPE }
}

/// The guest's stdin: the job's bytes, read once from the start.
final class GuestInput: GuestStdioEntry {
    private let state: Mutex<(bytes: [UInt8], offset: Int)>

    init(_ bytes: [UInt8]) { state = Mutex((bytes, 0)) }

    func fdStat() throws -> WASIAbi.FdStat {
        WASIAbi.FdStat(fsFileType: .CHARACTER_DEVICE, fsFlags: [], fsRightsBase: .FD_READ, fsRightsInheriting: [])
    }

    func write(vectored buffers: GuestBuffers) throws -> WASIAbi.Size { throw WASIAbi.Errno.EBADF }

    func read(into buffers: GuestBuffers) throws -> WASIAbi.Size {
        var total = 0
        for index in 0..<buffers.count {
            let count = try buffers.withHostBuffer(at: index) { target in
                state.withLock { input in
                    let count = min(target.count, input.bytes.count - input.offset)
                    guard count > 0, let base = target.baseAddress else { return 0 }
                    input.bytes.withUnsafeBytes { source in
                        base.copyMemory(from: source.baseAddress! + input.offset, byteCount: count)
                    }
                    input.offset += count
                    return count
                }
            }
            total += count
            if count == 0 { break }
        }
        return WASIAbi.Size(total)
    }
}

/// The guest's stdout or stderr: kept in memory within the shared `OutputBudget`, and passed
/// to `onWrite` as it is written (the child streams stderr to its parent this way).
final class GuestOutput: GuestStdioEntry {
    private let budget: OutputBudget
    private let onWrite: @Sendable ([UInt8]) -> Void
    private let captured = Mutex<[UInt8]>([])

    init(budget: OutputBudget, onWrite: @escaping @Sendable ([UInt8]) -> Void = { _ in }) {
        self.budget = budget
        self.onWrite = onWrite
    }

    /// Everything written so far.
    var bytes: [UInt8] { captured.withLock { $0 } }

    func fdStat() throws -> WASIAbi.FdStat {
        WASIAbi.FdStat(fsFileType: .CHARACTER_DEVICE, fsFlags: [], fsRightsBase: .FD_WRITE, fsRightsInheriting: [])
    }

    func read(into buffers: GuestBuffers) throws -> WASIAbi.Size { throw WASIAbi.Errno.EBADF }

    func write(vectored buffers: GuestBuffers) throws -> WASIAbi.Size {
        var total = 0
        for index in 0..<buffers.count {
            var chunk: [UInt8] = []
            try buffers.withHostBuffer(at: index) { source in
                chunk = Array(UnsafeRawBufferPointer(source))
                return chunk.count
            }
            guard !chunk.isEmpty else { continue }
            do {
                try budget.take(chunk.count)
            } catch {
                // Keep what still fits, so the outcome shows the output up to the limit.
                let fitting = Array(chunk.prefix(budget.bytesLeft))
                if (try? budget.take(fitting.count)) != nil, !fitting.isEmpty {
                    captured.withLock { $0.append(contentsOf: fitting) }
                    onWrite(fitting)
                }
                throw error
            }
            captured.withLock { $0.append(contentsOf: chunk) }
            onWrite(chunk)
            total += chunk.count
        }
        return WASIAbi.Size(total)
    }
}
