// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import ControlAPI
import PotluckCrypto
import Foundation
import Jobs
import Node
import Sandbox
import Storage
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Part of `potluck-bench native` (spec 0020): a 1 GiB input sent to a loopback lender over the
/// job channel (want, encrypted 1 MiB chunks, stored and verified on the lender's disk, then a
/// task that counts its bytes), beside a plain TCP copy of the same file over loopback into a
/// file. Both lender and borrower run in this process, so `peak_mb_above_idle` is their
/// memory together above the process's resident size before the transfer.
func nativeTransfer(root: String) async throws -> BenchResult {
    let size = 1 << 30
    let path = try directory(root + "/transfer") + "/big.bin"
    let block = Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
    _ = FileManager.default.createFile(atPath: path, contents: nil)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    for index in 0..<(size >> 20) {
        var chunk = block
        chunk[0] = UInt8(truncatingIfNeeded: index)
        try handle.write(contentsOf: chunk)
    }
    try handle.close()
    let digest = try InputStore.hash(file: path)

    let plain = try plainCopy(path, to: root + "/transfer/copy.bin")
    try? FileManager.default.removeItem(atPath: root + "/transfer/copy.bin")

    try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)  // resets VmHWM
    let idle = residentBytes().current
    let (lender, client, task) = try await transferParties(root: root, name: "transfer", digest: digest)
    defer { lender.stop() }
    let start = nowNanoseconds()
    let completion = try await client.run(.native(task, inputs: ["big.bin": path]), cores: 1, on: lender.address)
    let elapsed = Double(nowNanoseconds() - start) / 1e9
    guard String(decoding: completion.outcome.stdout, as: UTF8.self) == "\(size)\n", completion.sentInputBytes == Int64(size) else {
        throw BenchError("the 1 GiB input came wrong: \(completion.outcome.summary), sent \(completion.sentInputBytes)")
    }
    let peak = Double(residentBytes().peak - idle) / 1e6
    let megabytes = Double(size) / 1e6
    return BenchResult(bench: "native", caseName: "1 GiB input over the job channel (stored, verified, then used) vs a plain loopback TCP copy",
                       unit: "MB/s", potluck: megabytes / elapsed, reference: megabytes / plain,
                       extra: [("seconds", elapsed), ("reference_seconds", plain), ("peak_mb_above_idle", peak)])
}

/// Part of `potluck-bench native` (spec 0020 §4): the same 1 GiB input, its borrower cut off
/// once half of it is sent (its task cancelled, the connection dropped, as when the borrower's
/// process dies), then run again: `resent_chunks` counts the 1 MiB chunks sent twice, from what
/// the borrower had handed to its kernel before the cut and what it sent after.
func nativeResume(root: String) async throws -> BenchResult {
    let size: Int64 = 1 << 30, chunk = Int64(JobMessage.chunkBytes)
    let path = root + "/transfer/big.bin"
    let digest = try InputStore.hash(file: path)
    let (lender, client, task) = try await transferParties(root: root, name: "resume", digest: digest)
    defer { lender.stop() }
    let sentBeforeCut = Mutex<Int64>(0)
    let first = Task {
        try await client.run(.native(task, inputs: ["big.bin": path]), cores: 1, on: lender.address) { event in
            guard case .sendingInputs(let sent, _) = event else { return }
            sentBeforeCut.withLock { $0 = sent }
            if sent >= size / 2 { withUnsafeCurrentTask { $0?.cancel() } }
        }
    }
    guard case .failure = await first.result else { throw BenchError("the cut transfer completed") }
    // Wait on the fact: the lender has let the dropped job go.
    let control = ControlClient(dataDirectory: root + "/resume-lender")
    let deadline = ContinuousClock.now + .seconds(30)
    while (try? await control.call(.runningJobs))?.running.isEmpty != true {
        guard ContinuousClock.now < deadline else { throw BenchError("the lender kept the dropped job for 30 s") }
        try await Task.sleep(for: .milliseconds(20))
    }
    let completion = try await client.run(.native(task, inputs: ["big.bin": path]), cores: 1, on: lender.address)
    guard String(decoding: completion.outcome.stdout, as: UTF8.self) == "\(size)\n" else {
        throw BenchError("the resumed 1 GiB input came wrong: \(completion.outcome.summary)")
    }
    let before = sentBeforeCut.withLock { $0 }
    let resent = max(0, before + completion.sentInputBytes - size)
    return BenchResult(bench: "native", caseName: "1 GiB input cut at half and sent again: chunks sent twice (goal: at most 1)",
                       unit: "chunks", potluck: Double((resent + chunk - 1) / chunk), reference: .nan,
                       extra: [("resent_chunks", Double((resent + chunk - 1) / chunk)), ("sent_before_cut_mb", Double(before) / 1e6),
                               ("sent_after_mb", Double(completion.sentInputBytes) / 1e6)])
}

/// Part of `potluck-bench native` (spec 0020 §5): a task on a loopback lender writes a 1 GiB
/// output, which comes back by content (hashed on the lender's disk, want, encrypted 1 MiB
/// chunks, written and verified on the borrower's disk), beside a plain TCP copy of a 1 GiB
/// file. The speed is timed from the first chunk received to the last; `peak_mb_above_idle`
/// is lender and borrower together, as for the input.
func nativeOutput(root: String) async throws -> BenchResult {
    let size: Int64 = 1 << 30
    let plain = try plainCopy(root + "/transfer/big.bin", to: root + "/transfer/copy.bin")
    try? FileManager.default.removeItem(atPath: root + "/transfer/copy.bin")
    let lender = try await BenchLender.start(in: root + "/output-lender", cores: 1, tools: ["sh"])
    defer { lender.stop() }
    let environment = try Environment(path: try directory(root + "/output-borrower"))
    let client = JobClient(identity: SigningKey.generate(), receipts: try ReceiptStore(environment: environment),
                           jobs: try JobStore(environment: environment))
    let task = NativeTask(tool: "sh", arguments: ["-c", "head -c \(size) /dev/urandom > /job/out/big.bin"],
                          limits: JobLimits(coreSeconds: 120, memoryBytes: 256 << 20, wallSeconds: 300, outputBytes: 1 << 16))
    try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)  // resets VmHWM
    let idle = residentBytes().current
    let timing = Mutex<(first: UInt64, firstBytes: Int64, last: UInt64)>((0, 0, 0))
    let completion = try await client.run(.native(task, inputs: [:]), cores: 1, on: lender.address, outputs: root + "/output-received") { event in
        guard case .receivingOutputs(let received, _) = event else { return }
        let now = nowNanoseconds()
        timing.withLock { if $0.first == 0 { $0 = (now, received, now) } else { $0.last = now } }
    }
    let peak = Double(residentBytes().peak - idle) / 1e6
    defer { try? FileManager.default.removeItem(atPath: root + "/output-received") }
    guard completion.receivedOutputBytes == size, let path = completion.outputFiles["big.bin"],
          (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value == size else {
        throw BenchError("the 1 GiB output came wrong: \(completion.outcome.summary), received \(completion.receivedOutputBytes)")
    }
    let (first, firstBytes, last) = timing.withLock { $0 }
    let elapsed = Double(last - first) / 1e9
    let megabytes = Double(size - firstBytes) / 1e6
    return BenchResult(bench: "native", caseName: "1 GiB output back over the job channel (by content, verified) vs a plain loopback TCP copy",
                       unit: "MB/s", potluck: megabytes / elapsed, reference: Double(size) / 1e6 / plain,
                       extra: [("seconds", elapsed), ("reference_seconds", plain), ("peak_mb_above_idle", peak)])
}

/// A one-core lender lending `sh`, a borrower's client, and the task that counts the input's bytes.
private func transferParties(root: String, name: String, digest: Bytes32) async throws -> (BenchLender, JobClient, NativeTask) {
    let lender = try await BenchLender.start(in: root + "/\(name)-lender", cores: 1, tools: ["sh"])
    let environment = try Environment(path: try directory(root + "/\(name)-borrower"))
    let client = JobClient(identity: SigningKey.generate(), receipts: try ReceiptStore(environment: environment),
                           jobs: try JobStore(environment: environment))
    let task = NativeTask(tool: "sh", arguments: ["-c", "wc -c < /job/in/big.bin"], inputs: ["big.bin": digest],
                          limits: JobLimits(coreSeconds: 60, memoryBytes: 256 << 20, wallSeconds: 120, outputBytes: 1 << 16))
    return (lender, client, task)
}

/// Copies a file over a loopback TCP connection into another file, 1 MiB at a time; seconds.
private func plainCopy(_ source: String, to destination: String) throws -> Double {
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(listener) }
    _ = withSocketAddress(0x7F00_0001, port: 0) { bind(listener, $0, $1) }
    // The port it bound: bytes 2 and 3 of its sockaddr_in, in network order.
    var bound = [UInt8](repeating: 0, count: 128)
    var length = socklen_t(bound.count)
    _ = bound.withUnsafeMutableBytes { getsockname(listener, $0.baseAddress!.bindMemory(to: sockaddr.self, capacity: 1), &length) }
    let port = UInt16(bound[2]) << 8 | UInt16(bound[3])
    listen(listener, 1)
    let start = nowNanoseconds()
    let done = DispatchSemaphore(value: 0)
    _ = FileManager.default.createFile(atPath: destination, contents: nil)
    Thread.detachNewThread {
        defer { done.signal() }
        let connection = accept(listener, nil, nil)
        defer { close(connection) }
        guard let output = FileHandle(forWritingAtPath: destination) else { return }
        defer { try? output.close() }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress!, $0.count, 0) }
            guard count > 0 else { return }
            try? output.write(contentsOf: Data(buffer[0..<count]))
        }
    }
    let sender = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    _ = withSocketAddress(0x7F00_0001, port: port) { connect(sender, $0, $1) }
    let input = try FileHandle(forReadingFrom: URL(fileURLWithPath: source))
    while let data = try input.read(upToCount: 1 << 20), !data.isEmpty {
        var offset = 0
        while offset < data.count {
            let sent = data.withUnsafeBytes { send(sender, $0.baseAddress! + offset, data.count - offset, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { break }
            offset += sent
        }
    }
    try input.close()
    close(sender)
    guard done.wait(timeout: .now() + 600) == .success else { throw BenchError("the plain copy did not finish") }
    return Double(nowNanoseconds() - start) / 1e9
}

/// This process's resident set now and at its peak (VmRSS, VmHWM), bytes.
private func residentBytes() -> (current: Int64, peak: Int64) {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    func field(_ name: String) -> Int64 {
        for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
            return (Int64(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0) * 1024
        }
        return 0
    }
    return (field("VmRSS"), field("VmHWM"))
}
