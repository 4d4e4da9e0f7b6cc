// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import PotluckCrypto
import Foundation
import Node
import Sandbox
import Storage
import Synchronization

/// `potluck-bench native` (spec 0019): what the native sandbox costs, and how well a batch
/// spreads over lenders.
///
/// - `sandbox_ratio`: one ImageMagick resize of a 1600x1200 photo, and one Blender frame of
///   `examples/render` (when Blender is installed), run directly and through `NativeRunner`
///   (bubblewrap, seccomp, rlimits, the task's directory), alternating, medians: the sandbox's
///   speed over the direct run's (goal ≥ 0.95).
/// - `efficiency`: 16 such photos through two loopback lenders of one core each (the whole
///   protocol: job channel, admission, sandbox, outputs, receipts), against the ideal of the
///   tasks' own direct run times divided over two cores (goal ≥ 0.9); beside it the same
///   photos run directly two at a time (`direct_parallel_seconds`, `of_direct_parallel`): what
///   this machine's two cores give without Potluck, since the lenders share them; and the CPU
///   the nodes (`nodes_cpu_seconds`: borrower and lenders) and the sandboxed tasks used
///   meanwhile, beside the direct runs' (`direct_cpu_seconds`).
/// - a 1 GiB input, and a 1 GiB output, over the job channel beside a plain TCP copy
///   (`NativeTransferBench.swift`).
func nativeBench() async throws -> [BenchResult] {
    let root = NSTemporaryDirectory() + "/potluck-bench-native-\(getpid())"
    try? FileManager.default.removeItem(atPath: root)
    defer { try? FileManager.default.removeItem(atPath: root) }
    let photos = try directory(root + "/job/photos")
    let examples = FileManager.default.currentDirectoryPath + "/examples"
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/convert"), FileManager.default.fileExists(atPath: examples) else {
        throw BenchError("needs ImageMagick (apt-get install imagemagick) and to run from the repository's root")
    }
    try FileManager.default.copyItem(atPath: examples + "/photos/make-inputs.sh", toPath: root + "/job/make-inputs.sh")
    try execute("/bin/bash", [root + "/job/make-inputs.sh", "16"])
    let names = try FileManager.default.contentsOfDirectory(atPath: photos).sorted()

    let resize = { (input: String, output: String) in [input, "-resize", "50%", "-unsharp", "0x1", output] }
    var results = [try await sideBySide(
        "ImageMagick resize of a 1600x1200 JPEG", rounds: 9, tool: "convert=/usr/bin/convert", input: photos + "/" + names[0],
        arguments: { resize($0, $1 + "/small.jpg") })]
    if FileManager.default.isExecutableFile(atPath: "/usr/bin/blender") {
        try execute("/usr/bin/blender", ["-b", "--factory-startup", "--python", examples + "/render/scene.py", "--", root + "/scene.blend"])
        results.append(try await sideBySide(
            "Blender frame (examples/render, Cycles, 1 thread)", rounds: 3, tool: "blender=/usr/bin/blender", input: root + "/scene.blend",
            arguments: { [ "-b", $0, "-o", $1 + "/frame_####", "-F", "PNG", "-f", "3"] }))
    } else {
        PotluckBench.printError("native: Blender is not installed; its row is skipped")
    }
    results.append(try await efficiency(root: root, photos: names.map { photos + "/" + $0 }))
    results.append(try await nativeTransfer(root: root))
    results.append(try await nativeResume(root: root))
    results.append(try await nativeOutput(root: root))
    return results
}

/// One tool run directly and in the sandbox, alternating; runs per second.
private func sideBySide(_ name: String, rounds: Int, tool spec: String, input: String,
                        arguments: (String, String) -> [String]) async throws -> BenchResult {
    let tool = try LentTool.find(spec, askVersion: false)
    let runner = NativeRunner()
    let inputName = (input as NSString).lastPathComponent
    let task = NativeTask(tool: tool.name, arguments: arguments(NativeTask.inputPath(inputName), NativeTask.outputDirectory),
                          inputs: [inputName: Blake2b.hash256(Array(FileManager.default.contents(atPath: input) ?? Data()))],
                          limits: JobLimits(coreSeconds: 600, memoryBytes: 2 << 30, wallSeconds: 600, outputBytes: 64 << 20))
    let scratch = try directory(NSTemporaryDirectory() + "/potluck-bench-direct-\(getpid())")
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    var direct: [Double] = [], sandboxed: [Double] = []
    for _ in 0..<rounds {
        var start = nowNanoseconds()
        try execute(tool.path, arguments(input, scratch))
        direct.append(Double(nowNanoseconds() - start) / 1e9)
        start = nowNanoseconds()
        let outcome = await runner.run(task, tool: tool, inputs: [inputName: input])
        sandboxed.append(Double(nowNanoseconds() - start) / 1e9)
        guard outcome.termination == .exited(0), !outcome.outputFiles.isEmpty else {
            throw BenchError("\(name) failed in the sandbox: \(outcome.summary): \(String(decoding: outcome.stderr.suffix(300), as: UTF8.self))")
        }
    }
    let ratio = median(direct) / median(sandboxed)
    return BenchResult(bench: "native", caseName: name + ", direct vs sandboxed", unit: "runs/s",
                       potluck: 1 / median(sandboxed), reference: 1 / median(direct), extra: [("sandbox_ratio", ratio)])
}

/// The photo batch through two one-core lenders on loopback, against its ideal.
private func efficiency(root: String, photos: [String]) async throws -> BenchResult {
    var own = 0.0
    let scratch = try directory(root + "/direct")
    let directBefore = cpuSeconds(RUSAGE_CHILDREN)
    for photo in photos {
        let start = nowNanoseconds()
        try execute("/usr/bin/convert", [photo, "-resize", "50%", "-unsharp", "0x1", scratch + "/x.jpg"])
        own += Double(nowNanoseconds() - start) / 1e9
    }
    let directCPU = cpuSeconds(RUSAGE_CHILDREN) - directBefore
    // The machine's own ceiling: the same photos run directly, two at a time.
    let parallelStart = nowNanoseconds()
    let parallelFailures = Mutex(0)
    DispatchQueue.concurrentPerform(iterations: 2) { worker in
        for photo in photos.enumerated().filter({ $0.offset % 2 == worker }).map(\.element) {
            do { try execute("/usr/bin/convert", [photo, "-resize", "50%", "-unsharp", "0x1", scratch + "/p\(worker).jpg"]) } catch {
                parallelFailures.withLock { $0 += 1 }
            }
        }
    }
    let parallel = Double(nowNanoseconds() - parallelStart) / 1e9
    guard parallelFailures.withLock({ $0 }) == 0 else { throw BenchError("convert failed in the direct parallel run") }
    let lenders = [try await BenchLender.start(in: root + "/lender1", cores: 1, tools: ["convert=/usr/bin/convert"]),
                   try await BenchLender.start(in: root + "/lender2", cores: 1, tools: ["convert=/usr/bin/convert"])]
    defer { lenders.forEach { $0.stop() } }
    try """
        tool = "convert"
        command = "convert {input} -resize 50% -unsharp 0x1 {output}"
        [tasks]
        each = "photos/*.jpg"
        [outputs]
        file = "out/{stem}.jpg"
        """.write(toFile: root + "/job/job.toml", atomically: true, encoding: .utf8)
    let planned = try JobFile.load(root + "/job/job.toml").tasks()
    let environment = try Environment(path: try directory(root + "/borrower"))
    let client = JobClient(identity: SigningKey.generate(), receipts: try ReceiptStore(environment: environment),
                           jobs: try JobStore(environment: environment))
    let before = (own: cpuSeconds(RUSAGE_SELF), tasks: cpuSeconds(RUSAGE_CHILDREN))
    let start = nowNanoseconds()
    let states = await TaskBatch(planned: planned, tool: "convert", cores: 1, status: BatchStatus(total: planned.count, enabled: false))
        .run(on: lenders.map { ($0.address, 1) }, client: client).states
    let elapsed = Double(nowNanoseconds() - start) / 1e9
    // Where the two cores went: the borrower and both lender nodes (this process), and the tasks.
    let nodesCPU = cpuSeconds(RUSAGE_SELF) - before.own, tasksCPU = cpuSeconds(RUSAGE_CHILDREN) - before.tasks
    guard states.allSatisfy({ if case .done = $0 { true } else { false } }) else { throw BenchError("the batch failed: \(states)") }
    let ideal = own / 2
    return BenchResult(bench: "native", caseName: "\(photos.count) photos through 2 loopback lenders of 1 core vs the tasks' own time / 2",
                       unit: "batches/s", potluck: 1 / elapsed, reference: 1 / ideal,
                       extra: [("efficiency", ideal / elapsed), ("batch_seconds", elapsed), ("ideal_seconds", ideal),
                               ("direct_parallel_seconds", parallel), ("of_direct_parallel", parallel / elapsed),
                               ("nodes_cpu_seconds", nodesCPU), ("tasks_cpu_seconds", tasksCPU), ("direct_cpu_seconds", directCPU)])
}

/// User and system CPU seconds of this process, or of its reaped children.
private func cpuSeconds(_ who: __rusage_who) -> Double {
    var usage = rusage()
    getrusage(who.rawValue, &usage)
    return [usage.ru_utime, usage.ru_stime].reduce(0) { $0 + Double($1.tv_sec) + Double($1.tv_usec) / 1e6 }
}

func execute(_ program: String, _ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw BenchError("\(program) exited \(process.terminationStatus)") }
}
