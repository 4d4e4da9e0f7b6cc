// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The I/O of one child run: one `poll` loop that writes the job, reads frames and the child's
/// own diagnostics, and kills the child at the deadline or when it breaks the protocol.
struct ChildSession {
    let child: ChildProcess
    let deadline: UInt64
    /// Moves the deadline by the time the guest spent paused.
    let pause: GuestPause
    let progress: @Sendable (GuestProgress) -> Void
    let outputBytes: Int
    /// The most bytes read from the child's stdout: two copies of the output (streamed stderr
    /// and the outcome) plus framing.
    let maxStdoutBytes: Int

    private var input: [UInt8]
    private var inputOffset = 0
    private var splitter: FrameSplitter
    private var stdoutBytesRead = 0
    private(set) var outcome: GuestOutcome?
    private var streamedStderr: [UInt8] = []
    private var lastFuelUsed: UInt64 = 0
    private var diagnostics: [UInt8] = []
    private var deadlinePassed = false
    private var protocolFailure: String?

    init(job: GuestJob, child: ChildProcess, deadline: UInt64, pause: GuestPause, progress: @escaping @Sendable (GuestProgress) -> Void) {
        self.child = child
        self.deadline = deadline
        self.pause = pause
        self.progress = progress
        outputBytes = job.limits.outputBytes
        maxStdoutBytes = 2 * job.limits.outputBytes + (16 << 20)
        input = job.encoded()
        splitter = FrameSplitter(maxFrameBytes: job.limits.outputBytes + (8 << 20))
    }

    /// Runs until the child closes stdout and stderr (it has exited or been killed).
    mutating func pump() {
        _ = fcntl(child.stdinFD, F_SETFL, fcntl(child.stdinFD, F_GETFL) | O_NONBLOCK)
        var open = (input: true, stdout: true, stderr: true)
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while open.stdout || open.stderr {
            let now = UsageClock.monotonicNanoseconds()
            let deadline = deadline + pause.pausedNanoseconds(now: now)
            if now >= deadline, !deadlinePassed, outcome == nil {
                deadlinePassed = true
                child.kill()
            }
            var fds = [
                pollfd(fd: open.input ? child.stdinFD : -1, events: Int16(POLLOUT), revents: 0),
                pollfd(fd: open.stdout ? child.stdoutFD : -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: open.stderr ? child.stderrFD : -1, events: Int16(POLLIN), revents: 0),
            ]
            let timeout = deadlinePassed ? 1000 : Int32(clamping: min(1000, (deadline &- min(now, deadline)) / 1_000_000 + 1))
            let ready = poll(&fds, 3, timeout)
            if ready < 0, errno != EINTR { break }
            guard ready > 0 else { continue }
            if fds[0].revents != 0, open.input, !writeInput() {
                close(child.stdinFD)
                open.input = false
            }
            if fds[1].revents != 0, open.stdout, !readStdout(into: &buffer) {
                open.stdout = false
            }
            if fds[2].revents != 0, open.stderr, !readDiagnostics(into: &buffer) {
                open.stderr = false
            }
            if protocolFailure != nil { child.kill() }
        }
        if open.input { close(child.stdinFD) }
        close(child.stdoutFD)
        close(child.stderrFD)
    }

    /// Writes more of the job; returns false once it is all written or the child stopped reading.
    private mutating func writeInput() -> Bool {
        let written = input.withUnsafeBytes { send(child.stdinFD, $0.baseAddress! + inputOffset, $0.count - inputOffset, Int32(MSG_NOSIGNAL)) }
        if written < 0 { return errno == EAGAIN || errno == EINTR }
        inputOffset += written
        if inputOffset == input.count { input = [] }
        return !input.isEmpty
    }

    /// Reads frames; returns false at end of stream or after a protocol failure.
    private mutating func readStdout(into buffer: inout [UInt8]) -> Bool {
        let count = buffer.withUnsafeMutableBytes { read(child.stdoutFD, $0.baseAddress!, $0.count) }
        if count < 0 { return errno == EAGAIN || errno == EINTR }
        if count == 0 { return false }
        stdoutBytesRead += count
        guard stdoutBytesRead <= maxStdoutBytes else {
            protocolFailure = "the sandbox child sent more than \(maxStdoutBytes) bytes"
            return false
        }
        splitter.append(buffer[0..<count])
        do {
            while let body = try splitter.next() { handle(try SandboxFrame(body: body)) }
        } catch {
            protocolFailure = "the sandbox child broke the frame protocol: \(error.message)"
            return false
        }
        return true
    }

    private mutating func handle(_ frame: SandboxFrame) {
        switch frame {
        case .stderr(let bytes):
            if streamedStderr.count + bytes.count <= outputBytes { streamedStderr += bytes }
            progress(.stderr(bytes))
        case .usage(let fuel, let cpu):
            lastFuelUsed = fuel
            progress(.usage(fuelUsed: fuel, cpuMilliseconds: cpu))
        case .outcome(let final):
            outcome = final
        }
    }

    /// Keeps the last 4 KiB of the child's own stderr (Swift runtime errors and the like).
    private mutating func readDiagnostics(into buffer: inout [UInt8]) -> Bool {
        let count = buffer.withUnsafeMutableBytes { read(child.stderrFD, $0.baseAddress!, $0.count) }
        if count < 0 { return errno == EAGAIN || errno == EINTR }
        if count == 0 { return false }
        diagnostics = Array((diagnostics + buffer[0..<count]).suffix(4096))
        return true
    }

    /// The outcome, given how the child ended.
    func decide(status: Int32, cancelled: Bool, killed: Bool, cpuMilliseconds: Int64, wallMilliseconds: Int64) -> GuestOutcome {
        if let outcome, !deadlinePassed, protocolFailure == nil { return outcome }
        var result = GuestOutcome(
            termination: .sandboxFailure(""), stderr: streamedStderr, fuelUsed: lastFuelUsed,
            cpuMilliseconds: cpuMilliseconds, wallMilliseconds: wallMilliseconds)
        result.termination = termination(status: status, cancelled: cancelled, killed: killed)
        return result
    }

    private func termination(status: Int32, cancelled: Bool, killed: Bool) -> GuestTermination {
        if cancelled { return .sandboxFailure(ChildSupervisor.cancelledReason) }
        if deadlinePassed { return .deadline }
        if let protocolFailure { return .sandboxFailure(protocolFailure) }
        let detail = String(decoding: diagnostics, as: UTF8.self)
            .split(separator: "\n").suffix(3).joined(separator: " | ")
        let signal = status & 0x7f
        if signal == 0 {
            return .sandboxFailure("potluck-sandbox exited with status \((status >> 8) & 0xff) without an outcome: \(detail)")
        }
        switch signal {
        case SIGXCPU: return .outOfFuel
        case SIGKILL where !killed: return .memoryLimit  // the kernel's out-of-memory killer
        default:
            let text = detail.lowercased()
            if text.contains("memory") || text.contains("alloc") { return .memoryLimit }
            return .sandboxFailure("potluck-sandbox died of signal \(signal): \(detail)")
        }
    }
}
