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
/// - `efficiency`: 16 such photos, and the 8 frames of `examples/render` (when Blender is
///   installed), through two loopback lenders of one core each (the whole
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
    var efficiencies: [BenchResult] = []
    var results = [try await sideBySide(
        "ImageMagick resize of a 1600x1200 JPEG", rounds: 9, tool: "convert=/usr/bin/convert", input: photos + "/" + names[0],
        arguments: { resize($0, $1 + "/small.jpg") })]
    if FileManager.default.isExecutableFile(atPath: "/usr/bin/blender") {
        try execute("/usr/bin/blender", ["-b", "-noaudio", "--factory-startup", "--python", examples + "/render/scene.py", "--", root + "/scene.blend"])
        results.append(try await sideBySide(
            "Blender frame (examples/render, Cycles, 1 thread)", rounds: 3, tool: "blender=/usr/bin/blender", input: root + "/scene.blend",
            arguments: { [ "-b", $0, "-o", $1 + "/frame_####", "-F", "PNG", "-f", "3"] }))
        efficiencies.append(try await efficiency(root: root, renderBatch(root: root, scene: root + "/scene.blend")))
    } else {
        PotluckBench.printError("native: Blender is not installed; its row is skipped")
    }
    results.append(try await efficiency(root: root, photoBatch(root: root, photos: names.map { photos + "/" + $0 })))
    results += efficiencies
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

/// A batch run through two one-core lenders and directly: its job file, and each task's
/// direct command line given a directory for its outputs.
private struct BatchCase: Sendable {
    var name: String
    var tool: String
    var job: String
    var jobDirectory: String
    var taskCount: Int
    var direct: @Sendable (_ task: Int, _ outputs: String) -> [String]
}

/// The photo batch (`examples/photos`) through two one-core lenders.
private func photoBatch(root: String, photos: [String]) -> BatchCase {
    BatchCase(name: "\(photos.count) photos through 2 loopback lenders of 1 core vs the tasks' own time / 2",
              tool: "convert=/usr/bin/convert", job: """
                  tool = "convert"
                  command = "convert {input} -resize 50% -unsharp 0x1 {output}"
                  [tasks]
                  each = "photos/*.jpg"
                  [outputs]
                  file = "out/{stem}.jpg"
                  """, jobDirectory: root + "/job", taskCount: photos.count,
              direct: { ["/usr/bin/convert", photos[$0], "-resize", "50%", "-unsharp", "0x1", $1 + "/x.jpg"] })
}

/// The render (`examples/render`: 8 frames, one task each) through two one-core lenders.
private func renderBatch(root: String, scene: String) throws -> BatchCase {
    let jobDirectory = try directory(root + "/render")
    try FileManager.default.copyItem(atPath: scene, toPath: jobDirectory + "/scene.blend")
    return BatchCase(name: "8 Blender frames through 2 loopback lenders of 1 core vs the tasks' own time / 2",
                     tool: "blender=/usr/bin/blender", job: """
                         tool = "blender"
                         command = "blender -b {scene} -o {outdir}/frame_#### -F PNG -f {frame}"
                         [inputs]
                         scene = "scene.blend"
                         [tasks]
                         frames = "1-8"
                         [outputs]
                         dir = "out"
                         """, jobDirectory: jobDirectory, taskCount: 8,
                     direct: { ["/usr/bin/blender", "-b", scene, "-o", $1 + "/frame_####", "-F", "PNG", "-f", String($0 + 1)] })
}

/// A batch through two one-core lenders on loopback, against its ideal.
private func efficiency(root: String, _ batch: BatchCase) async throws -> BenchResult {
    var own = 0.0
    let scratch = try directory(batch.jobDirectory + "-direct")
    let directBefore = cpuSeconds(RUSAGE_CHILDREN)
    for task in 0..<batch.taskCount {
        let argv = batch.direct(task, scratch)
        let start = nowNanoseconds()
        try execute(argv[0], Array(argv.dropFirst()))
        own += Double(nowNanoseconds() - start) / 1e9
    }
    let directCPU = cpuSeconds(RUSAGE_CHILDREN) - directBefore
    // The machine's own ceiling: the same tasks run directly, two at a time.
    let parallelStart = nowNanoseconds()
    let parallelFailures = Mutex(0)
    let workers = try (0..<2).map { try directory(scratch + "/w\($0)") }
    DispatchQueue.concurrentPerform(iterations: 2) { worker in
        for task in stride(from: worker, to: batch.taskCount, by: 2) {
            let argv = batch.direct(task, workers[worker])
            do { try execute(argv[0], Array(argv.dropFirst())) } catch { parallelFailures.withLock { $0 += 1 } }
        }
    }
    let parallel = Double(nowNanoseconds() - parallelStart) / 1e9
    guard parallelFailures.withLock({ $0 }) == 0 else { throw BenchError("a direct run failed in the parallel run of \(batch.name)") }
    let name = (batch.jobDirectory as NSString).lastPathComponent
    let lenders = [try await BenchLender.start(in: root + "/\(name)-lender1", cores: 1, tools: [batch.tool]),
                   try await BenchLender.start(in: root + "/\(name)-lender2", cores: 1, tools: [batch.tool])]
    defer { lenders.forEach { $0.stop() } }
    try batch.job.write(toFile: batch.jobDirectory + "/job.toml", atomically: true, encoding: .utf8)
    let job = try JobFile.load(batch.jobDirectory + "/job.toml")
    let planned = try job.tasks()
    let environment = try Environment(path: try directory(root + "/\(name)-borrower"))
    let client = JobClient(identity: SigningKey.generate(), receipts: try ReceiptStore(environment: environment),
                           jobs: try JobStore(environment: environment))
    let before = (own: cpuSeconds(RUSAGE_SELF), tasks: cpuSeconds(RUSAGE_CHILDREN))
    let start = nowNanoseconds()
    let states = await TaskBatch(planned: planned, tool: job.tool, cores: 1, status: BatchStatus(total: planned.count, enabled: false))
        .run(on: lenders.map { ($0.address, 1) }, client: client).states
    let elapsed = Double(nowNanoseconds() - start) / 1e9
    // Where the two cores went: the borrower and both lender nodes (this process), and the tasks.
    let nodesCPU = cpuSeconds(RUSAGE_SELF) - before.own, tasksCPU = cpuSeconds(RUSAGE_CHILDREN) - before.tasks
    guard states.allSatisfy({ if case .done = $0 { true } else { false } }) else { throw BenchError("the batch failed: \(states)") }
    let ideal = own / 2
    return BenchResult(bench: "native", caseName: batch.name, unit: "batches/s", potluck: 1 / elapsed, reference: 1 / ideal,
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
