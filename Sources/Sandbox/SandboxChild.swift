// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Foundation

/// The body of the `potluck-sandbox` executable (spec 0014 §8): reads one encoded `GuestJob`
/// from stdin, applies `ChildLimits`, runs the guest with `GuestExecution`, streams stderr
/// and usage frames to stdout, then writes the outcome frame and exits 0.
public enum SandboxChild {
    /// How often a usage frame is sent while the guest runs.
    static let usageInterval: TimeInterval = 1

    /// Runs the child protocol on stdin/stdout and exits.
    public static func main() -> Never {
        signal(SIGPIPE, SIG_IGN)
        closeInheritedDescriptors()
        let writer = FrameWriter(fd: 1)
        let clock = UsageClock()
        guard let bytes = readAll(fd: 0, limit: GuestJob.Bounds.encodedBytes) else {
            writer.send(.outcome(clock.outcome(.sandboxFailure("the job on stdin is unreadable or too large"))))
            exit(0)
        }
        let job: GuestJob
        do { job = try GuestJob(encoded: bytes) } catch {
            writer.send(.outcome(clock.outcome(.sandboxFailure("cannot read the job: \(error.message)"))))
            exit(0)
        }
        let gauge = FuelGauge()
        let parent = getppid()
        // Started before RLIMIT_NPROC forbids new threads. It also ends the guest if the node
        // that started it dies (killed with SIGKILL, it cannot kill its children): a guest never
        // outlives its lender's node.
        let ticker = Thread {
            while true {
                Thread.sleep(forTimeInterval: usageInterval)
                if getppid() != parent { _exit(137) }
                writer.send(.usage(fuelUsed: gauge.fuelUsed, cpuMilliseconds: UsageClock.processCPUMilliseconds()))
            }
        }
        ticker.start()
        do { try ChildLimits(for: job, encodedBytes: bytes.count).apply() } catch {
            writer.send(.outcome(clock.outcome(.sandboxFailure(error.message))))
            exit(0)
        }
        let outcome = GuestExecution.run(job, onStderr: { writer.send(.stderr($0)) }, gauge: gauge)
        writer.send(.outcome(outcome))
        exit(0)
    }

    /// Closes every descriptor but stdio: one the parent opened without close-on-exec (a TCP
    /// connection of the job channel, say) must neither reach the guest nor outlive the parent.
    static func closeInheritedDescriptors() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for descriptor in names.compactMap(Int32.init) where descriptor > 2 { close(descriptor) }
    }

    /// Reads `fd` to its end, or returns `nil` past `limit` bytes or on an error.
    static func readAll(fd: Int32, limit: Int) -> [UInt8]? {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { return bytes }
            guard bytes.count + count <= limit else { return nil }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }
}
