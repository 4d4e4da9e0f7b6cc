// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes whole frames to a descriptor from any thread; after the outcome frame it writes
/// nothing more.
final class FrameWriter: Sendable {
    private let fd: Int32
    private let finished = Mutex(false)

    init(fd: Int32) { self.fd = fd }

    /// Writes `frame` unless the outcome was already written. Write errors are ignored: the
    /// parent has gone, and will report the failure itself.
    func send(_ frame: SandboxFrame) {
        let bytes = frame.framed()
        finished.withLock { done in
            guard !done else { return }
            if case .outcome = frame { done = true }
            Self.writeAll(bytes, to: fd)
        }
    }

    static func writeAll(_ bytes: [UInt8], to fd: Int32) {
        var offset = 0
        bytes.withUnsafeBytes { raw in
            while offset < raw.count {
                let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0, errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
    }
}
