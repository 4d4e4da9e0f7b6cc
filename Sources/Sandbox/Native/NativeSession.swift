// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
#if canImport(Glibc)
import Glibc
#endif

/// The I/O of one native task: one `poll` loop that reads the tool's stdout and stderr within
/// the output budget, watches the disk the task uses, and kills the whole sandbox at the
/// deadline or the first limit broken. What the sandbox did is said in plain words at the end
/// of the task's stderr, so the borrower's log shows why it stopped.
struct NativeSession {
    /// Why the parent killed the sandbox.
    enum Kill: Equatable {
        case deadline, output, disk
    }

    let child: ChildProcess
    let deadline: UInt64
    /// Moves the deadline by the time the task spent paused.
    let pause: GuestPause
    let outputBytes: Int
    let diskBytes: Int64
    let jobDirectory: String
    let progress: @Sendable (GuestProgress) -> Void
    /// How often the disk used under `/job` is measured.
    static let diskCheckInterval: UInt64 = 100_000_000

    private(set) var stdout: [UInt8] = []
    private(set) var stderr: [UInt8] = []
    private(set) var kill: Kill?
    private var nextDiskCheck: UInt64 = 0

    init(child: ChildProcess, deadline: UInt64, pause: GuestPause, task: NativeTask, jobDirectory: String,
         progress: @escaping @Sendable (GuestProgress) -> Void) {
        self.child = child
        self.deadline = deadline
        self.pause = pause
        outputBytes = task.limits.outputBytes
        diskBytes = task.diskBytes
        self.jobDirectory = jobDirectory
        self.progress = progress
    }

    /// Bytes of stdout and stderr kept so far.
    var outputUsed: Int { stdout.count + stderr.count }

    /// Runs until the sandbox closes stdout and stderr (it has exited or been killed).
    mutating func pump() {
        close(child.stdinFD)  // the tool reads end of file at once
        var open = (stdout: true, stderr: true)
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while open.stdout || open.stderr {
            let now = UsageClock.monotonicNanoseconds()
            let deadline = deadline + pause.pausedNanoseconds(now: now)
            if kill == nil, now >= deadline { stop(.deadline) }
            if kill == nil, now >= nextDiskCheck {
                nextDiskCheck = now + Self.diskCheckInterval
                if DiskUsage.bytes(under: jobDirectory) > diskBytes { stop(.disk) }
            }
            var fds = [
                pollfd(fd: open.stdout ? child.stdoutFD : -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: open.stderr ? child.stderrFD : -1, events: Int16(POLLIN), revents: 0),
            ]
            let untilDeadline = (deadline &- min(now, deadline)) / 1_000_000 + 1
            let timeout = kill != nil ? 1000 : Int32(clamping: min(untilDeadline, Self.diskCheckInterval / 1_000_000))
            let ready = poll(&fds, 2, timeout)
            if ready < 0, errno != EINTR { break }
            guard ready > 0 else { continue }
            if fds[0].revents != 0, open.stdout, !read(child.stdoutFD, into: &buffer, isStderr: false) { open.stdout = false }
            if fds[1].revents != 0, open.stderr, !read(child.stderrFD, into: &buffer, isStderr: true) { open.stderr = false }
        }
        close(child.stdoutFD)
        close(child.stderrFD)
    }

    /// Reads a chunk; returns false at end of stream.
    private mutating func read(_ fd: Int32, into buffer: inout [UInt8], isStderr: Bool) -> Bool {
        let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
        if count < 0 { return errno == EAGAIN || errno == EINTR }
        if count == 0 { return false }
        guard kill == nil else { return true }  // drain what a dying sandbox still writes
        let room = max(0, outputBytes - outputUsed)
        let kept = Array(buffer[0..<min(count, room)])
        if isStderr {
            stderr += kept
            if !kept.isEmpty { progress(.stderr(kept)) }
        } else {
            stdout += kept
        }
        if count > room { stop(.output) }
        return true
    }

    private mutating func stop(_ reason: Kill) {
        kill = reason
        child.kill()
    }

    /// The sentence that ends the task's stderr when the sandbox stopped it.
    func explanation(task: NativeTask) -> String? {
        switch kill {
        case .deadline?: "potluck: the task ran past its wall-clock limit of \(task.limits.wallSeconds) s; the sandbox was killed"
        case .output?: "potluck: the task's stdout and stderr passed its output limit of \(task.limits.outputBytes) bytes; the sandbox was killed"
        case .disk?: "potluck: the task wrote more than its disk limit of \(task.diskBytes) bytes under /job; the sandbox was killed"
        case nil: nil
        }
    }
}

/// Bytes of disk used by the regular files under a directory (no links followed).
enum DiskUsage {
    static func bytes(under path: String) -> Int64 {
        var total: Int64 = 0
        var pending = [path]
        var visited = 0
        while let directory = pending.popLast(), visited < 100_000 {
            visited += 1
            guard let handle = opendir(directory) else { continue }
            defer { closedir(handle) }
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                guard name != ".", name != ".." else { continue }
                var info = stat()
                let child = directory + "/" + name
                guard lstat(child, &info) == 0 else { continue }
                total += Int64(info.st_blocks) * 512
                if info.st_mode & S_IFMT == S_IFDIR { pending.append(child) }
            }
        }
        return total
    }
}
