import Foundation
import Testing

/// Runs the built `potluck` executable as a user would, and collects what it printed.
struct PotluckProcess {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// The directory holding the built products (the test bundle sits beside the executables).
    static let productsDirectory: URL = {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    }()

    /// The package's root directory (examples, specs).
    static let packageDirectory: URL = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }()

    /// The built `potluck` executable.
    static var executable: URL { productsDirectory.appendingPathComponent("potluck") }

    static func run(_ arguments: [String], environment: [String: String]? = nil) throws -> Result {
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw CLITestError("the potluck executable was not built next to the tests at \(executable.path); run 'swift build --build-tests' first")
        }
        return try run(executable: executable, arguments, environment: environment)
    }

    /// Runs any program to the end and collects what it printed.
    static func run(executable: URL, _ arguments: [String], environment: [String: String]? = nil) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // A hung command fails its test instead of stalling the suite: killed after 10 minutes.
        let watchdog = DispatchWorkItem { [process] in if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 600, execute: watchdog)
        defer { watchdog.cancel() }
        // Read on the side: a crashed command's backtracer (swift-backtrace) inherits the pipes
        // and once held them open for half an hour after the command was gone.
        let output = NSLock(), readers = DispatchGroup()
        nonisolated(unsafe) var stdout = Data(), stderr = Data()
        DispatchQueue.global().async(group: readers) { let data = out.fileHandleForReading.readDataToEndOfFile(); output.withLock { stdout = data } }
        DispatchQueue.global().async(group: readers) { let data = err.fileHandleForReading.readDataToEndOfFile(); output.withLock { stderr = data } }
        guard readers.wait(timeout: .now() + 660) == .success else {
            throw CLITestError("\(executable.lastPathComponent) \(arguments.joined(separator: " ")) still held its output open after 11 minutes")
        }
        process.waitUntilExit()
        let (printed, complained) = output.withLock { (stdout, stderr) }
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: printed, as: UTF8.self),
                      stderr: String(decoding: complained, as: UTF8.self))
    }
}

struct CLITestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A fresh temporary directory, removed by the caller.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("potluck-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Every suite that drives `potluck` processes, run one test at a time and off Swift's cooperative
/// pool: their tests block a thread while they wait for a process, and the pool has one thread
/// per core (two here). On the pool they held one of its two threads for the ten minutes the
/// suite takes, and every async test of the other targets waited minutes for the other.
@Suite(.serialized, .offThePool) enum CLIProcessTests {}

/// A trait that runs a test's code on threads of its own (SE-0417 task executor preference), so
/// a test that blocks waiting for a process takes no thread from Swift's cooperative pool.
struct OffThePool: SuiteTrait, TestTrait, TestScoping {
    var isRecursive: Bool { true }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        guard testCase != nil else { return try await function() }
        try await withTaskExecutorPreference(ThreadPerJobExecutor.shared) { try await function() }
    }
}

extension Trait where Self == OffThePool {
    static var offThePool: OffThePool { OffThePool() }
}

/// Runs every job it is given on a new thread: a job that blocks holds only its own thread, and
/// no two jobs ever wait for each other's thread (a fixed pool could deadlock an async test whose
/// child tasks block). The CLI tests run a few thousand jobs in all; a thread costs microseconds.
final class ThreadPerJobExecutor: TaskExecutor {
    static let shared = ThreadPerJobExecutor()
    private static let marker = "potluck.cli-test-job"

    /// Whether the caller runs on one of this executor's threads.
    static var isCurrent: Bool { Thread.current.threadDictionary[marker] != nil }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job), executor = asUnownedTaskExecutor()
        let thread = Thread {
            Thread.current.threadDictionary[Self.marker] = true
            job.runSynchronously(on: executor)
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
}

/// A `potluck` command that runs beside the test, whose stderr the test can watch as it comes.
final class StreamingProcess: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var errBytes = Data()
    private let out = Pipe(), err = Pipe()

    init(_ arguments: [String]) throws {
        process.executableURL = PotluckProcess.executable
        process.arguments = arguments
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        err.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self else { return }
            self.lock.withLock { self.errBytes.append(data) }
        }
        try process.run()
    }

    /// What it printed on stderr so far.
    var stderr: String { lock.withLock { String(decoding: errBytes, as: UTF8.self) } }

    /// Whether stderr came to contain `text` within `timeout` seconds.
    func waitForStderr(containing text: String, timeout: TimeInterval) -> Bool {
        eventually(timeout: timeout) { stderr.contains(text) }
    }

    /// Waits for its end (killing it after 10 minutes) and collects stdout and all of stderr.
    func wait() -> PotluckProcess.Result {
        let watchdog = DispatchWorkItem { [process] in if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 600, execute: watchdog)
        defer { watchdog.cancel() }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        err.fileHandleForReading.readabilityHandler = nil
        let rest = err.fileHandleForReading.readDataToEndOfFile()
        lock.withLock { errBytes.append(rest) }
        return PotluckProcess.Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: stderr)
    }

    /// Ends it now if it still runs.
    func kill() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
    }
}
