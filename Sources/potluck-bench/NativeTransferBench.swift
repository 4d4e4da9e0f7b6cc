// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Crypto
import Foundation
import Node
import Sandbox
import Storage
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
    FileManager.default.createFile(atPath: path, contents: nil)
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
    let lender = try await BenchLender.start(in: root + "/transfer-lender", cores: 1, tools: ["sh"])
    defer { lender.stop() }
    let environment = try Environment(path: try directory(root + "/transfer-borrower"))
    let client = JobClient(identity: SigningKey.generate(), receipts: try ReceiptStore(environment: environment),
                           jobs: try JobStore(environment: environment))
    let task = NativeTask(tool: "sh", arguments: ["-c", "wc -c < /job/in/big.bin"], inputs: ["big.bin": digest],
                          limits: JobLimits(coreSeconds: 60, memoryBytes: 256 << 20, wallSeconds: 120, outputBytes: 1 << 16))
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

/// Copies a file over a loopback TCP connection into another file, 1 MiB at a time; seconds.
private func plainCopy(_ source: String, to destination: String) throws -> Double {
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(listener) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
    listen(listener, 1)
    let start = nowNanoseconds()
    let done = DispatchSemaphore(value: 0)
    FileManager.default.createFile(atPath: destination, contents: nil)
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
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(sender, $0, length) } }
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
