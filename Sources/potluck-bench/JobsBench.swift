// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import ControlAPI
import PotluckCrypto
import ExampleJobs
import Foundation
import Kademlia
import Logging
import Node
import Sandbox
import ServiceLifecycle
import Storage

/// `potluck-bench jobs`: a tiny job (`primes 10`) sent by a borrower to a lender on loopback,
/// end to end — job channel handshake, admission, the sandbox's child process, the result and
/// the receipt signed by both and stored by both — once the offer is known. Reference: the same
/// job run by the sandbox alone on the same machine, so the ratio shows what lending adds.
func jobsBench() async throws -> [BenchResult] {
    let root = NSTemporaryDirectory() + "/potluck-bench-jobs-\(getpid())"
    try? FileManager.default.removeItem(atPath: root)
    defer { try? FileManager.default.removeItem(atPath: root) }
    let lender = try await BenchLender.start(in: root + "/lender")
    defer { lender.stop() }
    let borrowerEnvironment = try Environment(path: try directory(root + "/borrower"))
    let client = JobClient(identity: SigningKey.generate(), receipts: try ReceiptStore(environment: borrowerEnvironment),
                           jobs: try JobStore(environment: borrowerEnvironment))
    let job = GuestJob(module: ExampleJobs.primes, arguments: ["10"],
                       limits: JobLimits(coreSeconds: 10, memoryBytes: 32 << 20, wallSeconds: 10, outputBytes: 1 << 16))
    let sandbox = SandboxRunner.runningExecutableAsChild()
    let count = 100

    var remote: [Double] = [], local: [Double] = []
    for _ in 0..<count {
        var start = nowNanoseconds()
        let completion = try await client.run(job, cores: 1, on: lender.address)
        remote.append(seconds(since: start))
        guard String(decoding: completion.outcome.stdout, as: UTF8.self) == "4\n", (try? completion.receipt.get()) != nil else {
            throw BenchError("the job came back wrong: \(completion.outcome.summary), receipt \(completion.receipt)")
        }
        start = nowNanoseconds()
        let outcome = await sandbox.run(job)
        local.append(seconds(since: start))
        guard outcome.exitCode == 0 else { throw BenchError("the local run failed: \(outcome.summary)") }
    }

    // Throughput: two borrowers' worth of jobs at once against a lender with two slots.
    let concurrent = 2, perTask = count / 2
    let started = nowNanoseconds()
    try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<concurrent {
            group.addTask { for _ in 0..<perTask { _ = try await client.run(job, cores: 1, on: lender.address) } }
        }
        try await group.waitForAll()
    }
    let jobsPerSecond = Double(concurrent * perTask) / seconds(since: started)
    let localStarted = nowNanoseconds()
    await withTaskGroup(of: Void.self) { group in
        for _ in 0..<concurrent { group.addTask { for _ in 0..<perTask { _ = await sandbox.run(job) } } }
    }
    let localPerSecond = Double(concurrent * perTask) / seconds(since: localStarted)

    let milliseconds = { (values: [Double], p: Double) in percentile(values, p) * 1000 }
    return [
        BenchResult(bench: "jobs", caseName: "tiny jobs one at a time (1 / p50 latency): lender on loopback vs sandbox alone",
                    unit: "jobs/s", potluck: 1 / percentile(remote, 0.5), reference: 1 / percentile(local, 0.5),
                    extra: [("p50_ms", milliseconds(remote, 0.5)), ("p99_ms", milliseconds(remote, 0.99)),
                            ("reference_p50_ms", milliseconds(local, 0.5)), ("reference_p99_ms", milliseconds(local, 0.99))]),
        BenchResult(bench: "jobs", caseName: "tiny jobs per second, 2 at once", unit: "jobs/s",
                    potluck: jobsPerSecond, reference: localPerSecond, extra: [("jobs_per_second", jobsPerSecond)]),
    ]
}

func directory(_ path: String) throws -> String {
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

private func seconds(since start: UInt64) -> Double { Double(nowNanoseconds() - start) / 1e9 }

/// One lending node in this process, on 127.0.0.1.
struct BenchLender {
    let address: JobClient.Lender
    let group: ServiceGroup
    let task: Task<Void, any Error>

    static func start(in path: String, cores: Int = 2, tools: [String] = []) async throws -> BenchLender {
        let identity = SigningKey.generate()
        let environment = try Environment(path: try directory(path + "/db"))
        var config = LenderConfig()
        config.cores = cores
        config.maxJobs = cores
        config.tools = tools
        try config.save(to: LenderConfig.path(inDataDirectory: path))
        var options = NodeOptions(dataDirectory: path)
        options.listen = [Endpoint(address: .v4(0x7f00_0001), port: 0)]
        options.useDefaultBootstrap = false
        options.jobsPort = 0
        options.sandbox = .runningExecutableAsChild()
        var logger = Logger(label: "potluck.bench") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .warning
        let (ready, sink) = AsyncStream.makeStream(of: Void.self)
        let service = DHTService(options: options, identity: identity, persistence: try NodePersistence(environment: environment),
                                 logger: logger) { _, _ in sink.yield() }
        let group = ServiceGroup(configuration: .init(services: [.init(service: service)], logger: logger))
        let task = Task { try await group.run() }
        for await _ in ready { break }
        // The DHT is up; the control socket may be a moment behind it: wait for it to answer.
        let deadline = ContinuousClock.now + .seconds(30)
        var answer: NodeInfo?
        while answer == nil {
            do { answer = try await ControlClient(dataDirectory: path).call(.nodeInfo) } catch {
                guard ContinuousClock.now < deadline else { throw error }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        guard let info = answer else { throw BenchError("the lender's control socket did not answer") }
        guard let endpoint = info.jobs,
              let port = endpoint.split(separator: ":").last.flatMap({ Int($0) })
        else { throw BenchError("the lender serves no jobs: \(info)") }
        return BenchLender(address: JobClient.Lender(key: identity.publicKey, host: "127.0.0.1", port: port), group: group, task: task)
    }

    func stop() {
        task.cancel()
    }
}
