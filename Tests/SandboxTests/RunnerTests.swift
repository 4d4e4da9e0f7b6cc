// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import ExampleJobs
import Foundation
import Synchronization
import Testing
@testable import Sandbox

/// Guests run through the real child process. Serialized, so that the check for leftover
/// children sees only this suite's.
@Suite(.serialized) struct RunnerTests {
    let runner = SandboxRunner()
    static let small = JobLimits(coreSeconds: 2, memoryBytes: 16 << 20, wallSeconds: 20, outputBytes: 1 << 20)

    func run(_ module: [UInt8], _ arguments: [String] = [], limits: JobLimits = small,
             files: [String: [UInt8]] = [:]) async -> GuestOutcome {
        await runner.run(GuestJob(module: module, arguments: arguments, inputFiles: files, limits: limits))
    }

    /// Live `potluck-sandbox` children of this process.
    static func sandboxChildren() -> [Int32] {
        let me = getpid()
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  stat.contains("(potluck-sandbo") else { return nil }
            let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
            return fields.count > 1 && Int32(fields[1]) == me ? pid : nil
        }
    }

    @Test func helloExitsWithItsCode() async {
        let outcome = await run(Guests.hello)
        #expect(outcome.termination == .exited(3))
        #expect(outcome.stdout == Array("hello\n".utf8))
        #expect(outcome.fuelUsed > 0)
    }

    @Test func primesBelow100000() async {
        let outcome = await run(ExampleJobs.primes, ["100000"])
        #expect(outcome.termination == .exited(0))
        #expect(String(decoding: outcome.stdout, as: UTF8.self) == "9592\n")
    }

    @Test func primesRejectsABadArgument() async {
        let outcome = await run(ExampleJobs.primes, ["many"])
        #expect(outcome.termination == .exited(2))
        #expect(String(decoding: outcome.stderr, as: UTF8.self).contains("whole number"))
    }

    @Test func mandelbrotWritesItsImage() async throws {
        let outcome = await run(ExampleJobs.mandelbrot, ["64", "48", "64"], files: ["note.txt": [1, 2]])
        #expect(outcome.termination == .exited(0))
        #expect(String(decoding: outcome.stdout, as: UTF8.self).hasPrefix("mandelbrot 64x48 iterations=64 inside="))
        let image = try #require(outcome.outputFiles["mandelbrot.pgm"])
        let header = Array("P5\n64 48\n255\n".utf8)
        #expect(Array(image.prefix(header.count)) == header)
        #expect(image.count == header.count + 64 * 48)
        #expect(outcome.outputFiles["note.txt"] == nil, "unchanged inputs are not outputs")
    }

    @Test func infiniteLoopRunsOutOfFuel() async {
        let outcome = await run(Guests.spin, limits: JobLimits(coreSeconds: 0.001, memoryBytes: 1 << 20, wallSeconds: 20))
        #expect(outcome.termination == .outOfFuel)
        #expect(outcome.fuelUsed > 0)
    }

    /// Spec 0019 §2.7: a paused wasm guest stops (SIGSTOP), and its deadline waits for it.
    @Test func aPausedGuestStopsAndItsDeadlineWaits() async {
        let pause = GuestPause()
        pause.pause()
        let resumer = Task {
            try await Task.sleep(for: .milliseconds(2500))  // the owner uses the machine for 2.5 s
            pause.resume()
        }
        let started = ContinuousClock.now
        let outcome = await runner.run(GuestJob(module: Guests.spin, limits: JobLimits(coreSeconds: 20, memoryBytes: 1 << 20, wallSeconds: 1.5)),
                                       pause: pause)
        let elapsed = ContinuousClock.now - started
        _ = await resumer.result
        #expect(outcome.termination == .deadline)
        #expect(elapsed >= .seconds(4), "the deadline (1.5 s) moved by the 2.5 s paused: \(elapsed)")
        #expect(outcome.wallMilliseconds < 3000, "the pause is not wall time: \(outcome.wallMilliseconds) ms")
        #expect(outcome.cpuMilliseconds < 3000, "the guest spun only while it ran: \(outcome.cpuMilliseconds) ms")
        #expect(pause.isEffective)
    }

    @Test func memoryBombHitsTheMemoryLimit() async {
        let outcome = await run(Guests.memoryBomb)
        #expect(outcome.termination == .memoryLimit)
        #expect(outcome.peakMemoryBytes <= 16 << 20)
    }

    @Test func declaredMemoryAboveTheCapIsRefused() async {
        let outcome = await run(Guests.bigInitialMemory, limits: JobLimits(memoryBytes: 1 << 20))
        #expect(outcome.termination == .memoryLimit)
    }

    @Test func stdoutFloodHitsTheOutputLimit() async {
        let outcome = await run(Guests.flood, limits: JobLimits(coreSeconds: 20, memoryBytes: 1 << 20, outputBytes: 10_000))
        #expect(outcome.termination == .outputLimit)
        #expect(outcome.stdout.count <= 10_000)
    }

    @Test func trapIsReported() async {
        let outcome = await run(Guests.trap)
        guard case .trap(let reason) = outcome.termination else {
            Issue.record("expected a trap, got \(outcome.termination)")
            return
        }
        #expect(reason.contains("unreachable"))
    }

    @Test func garbageIsAnInvalidModule() async {
        let outcome = await run(Array("this is not wasm".utf8))
        guard case .invalidModule = outcome.termination else {
            Issue.record("expected invalidModule, got \(outcome.termination)")
            return
        }
    }

    @Test(arguments: ["../etc/passwd", "/etc/passwd", "../../../../../../etc/passwd", "..", "."])
    func hostFilesAreOutOfReach(_ path: String) async {
        let outcome = await run(Guests.open(path))
        if path == "." {
            #expect(outcome.termination == .exited(0), "the scratch directory itself is open to the guest")
        } else {
            guard case .exited(let errno) = outcome.termination else {
                Issue.record("expected an exit, got \(outcome.termination)")
                return
            }
            #expect(errno != 0, "opening \(path) must fail inside the guest")
        }
    }

    @Test func onlyTheScratchDirectoryIsPreopened() async {
        #expect(await run(Guests.prestat(fd: 3)).termination == .exited(0), "descriptor 3 is the scratch directory")
        #expect(await run(Guests.prestat(fd: 4)).termination == .exited(8), "descriptor 4 is not open: EBADF")
        guard case .exited(let errno) = await run(Guests.open("etc/passwd", fd: 4)).termination else {
            Issue.record("expected an exit")
            return
        }
        #expect(errno != 0)
    }

    @Test func symbolicLinksCannotEscape() async {
        let outcome = await run(Guests.symlinkEscape)
        guard case .exited(let errno) = outcome.termination else {
            Issue.record("expected an exit, got \(outcome.termination)")
            return
        }
        #expect(errno != 0)
        #expect(outcome.outputFiles.isEmpty, "a link is never returned as an output file")
    }

    @Test func deadlineKillsTheChild() async {
        let started = ContinuousClock.now
        // A private root for the run's temporary directory: other tests run guests at the same time.
        let root = NSTemporaryDirectory() + "/potluck-runner-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let runner = SandboxRunner(executable: self.runner.executable, temporaryRoot: root)
        let job = GuestJob(module: Guests.spin, limits: JobLimits(coreSeconds: 80_000, memoryBytes: 1 << 20, wallSeconds: 1))
        let outcome = await runner.run(job)
        #expect(outcome.termination == .deadline)
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(Self.sandboxChildren().isEmpty)
        #expect((try? FileManager.default.contentsOfDirectory(atPath: root)) == [], "the killed child's scratch directory is removed")
    }

    @Test func cancellationKillsTheChild() async {
        let job = GuestJob(module: Guests.spin, limits: JobLimits(coreSeconds: 80_000, memoryBytes: 1 << 20, wallSeconds: 60))
        let runner = self.runner
        let task = Task { await runner.run(job) }
        try? await Task.sleep(for: .milliseconds(700))
        #expect(Self.sandboxChildren().count == 1, "the child is running")
        let started = ContinuousClock.now
        task.cancel()
        let outcome = await task.value
        #expect(outcome.termination == .sandboxFailure(ChildSupervisor.cancelledReason))
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(Self.sandboxChildren().isEmpty)
    }

    @Test func progressStreamsStderrAndUsage() async {
        let seen = ProgressLog()
        let job = GuestJob(module: ExampleJobs.primes, arguments: ["nope"], limits: Self.small)
        let outcome = await runner.run(job) { seen.append($0) }
        #expect(outcome.termination == .exited(2))
        #expect(seen.stderr == outcome.stderr)
    }

    @Test func missingExecutableIsASandboxFailure() async {
        let outcome = await SandboxRunner(executable: "/nonexistent/potluck-sandbox").run(GuestJob(module: Guests.hello))
        guard case .sandboxFailure(let reason) = outcome.termination else {
            Issue.record("expected sandboxFailure, got \(outcome.termination)")
            return
        }
        #expect(reason.contains("/nonexistent/potluck-sandbox"))
    }
}

/// Collects progress reports from the supervisor thread.
final class ProgressLog: Sendable {
    private let bytes = Mutex<[UInt8]>([])
    func append(_ progress: GuestProgress) {
        if case .stderr(let chunk) = progress { bytes.withLock { $0 += chunk } }
    }
    var stderr: [UInt8] { bytes.withLock { $0 } }
}
