// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Bencode
import PotluckCrypto
import Testing
@testable import Sandbox

@Suite struct EncodingTests {
    static let job = GuestJob(
        module: Array("\0asm".utf8) + [1, 0, 0, 0], arguments: ["100000", "ünïcode"], stdin: Array("in".utf8),
        inputFiles: ["a.txt": Array("alpha".utf8), "b.bin": [0, 1, 2]],
        limits: JobLimits(coreSeconds: 1.5, memoryBytes: 1 << 20, wallSeconds: 3, outputBytes: 4096))

    @Test func jobRoundTrips() throws {
        let decoded = try GuestJob(encoded: Self.job.encoded())
        #expect(decoded == Self.job)
        #expect(decoded.digest == Self.job.digest)
    }

    /// The vector in spec 0014 §10.
    @Test func jobDigestVector() {
        let job = GuestJob(module: Array("\0asm".utf8) + [1, 0, 0, 0], arguments: ["7"], limits: JobLimits())
        #expect(job.digest.hex == "ccb5f93f240289534ad2ee48246eded2f77c1786021d01f95d09833e78cf6a81")
    }

    @Test func outcomeRoundTrips() throws {
        for termination: GuestTermination in [
            .exited(0), .exited(-1), .outOfFuel, .memoryLimit, .deadline, .outputLimit, .trap("unreachable"),
            .invalidModule("bad magic"), .sandboxFailure("lost"),
        ] {
            let outcome = GuestOutcome(
                termination: termination, stdout: [1, 2], stderr: [3], outputFiles: ["out.pgm": [4, 5]],
                fuelUsed: 1234, cpuMilliseconds: 5, wallMilliseconds: 6, peakMemoryBytes: 65536)
            #expect(try GuestOutcome(encoded: outcome.encoded()) == outcome)
        }
    }

    @Test func resultDigestIgnoresStderrFiguresAndReasons() {
        let a = GuestOutcome(termination: .trap("one"), stdout: [1], stderr: [9], fuelUsed: 1, wallMilliseconds: 10)
        let b = GuestOutcome(termination: .trap("two"), stdout: [1], stderr: [8], fuelUsed: 2, wallMilliseconds: 20)
        #expect(a.resultDigest == b.resultDigest)
        #expect(a.resultDigest != GuestOutcome(termination: .exited(0), stdout: [1]).resultDigest)
        #expect(a.resultDigest != GuestOutcome(termination: .trap("one"), stdout: [2]).resultDigest)
    }

    @Test(arguments: [
        ("not bencode", Array("hello".utf8)),
        ("unsorted keys", Array("d1:bi1e1:ai1ee".utf8)),
        ("not a dictionary", Array("li1ee".utf8)),
    ])
    func jobRejectsBadBytes(_ name: String, _ bytes: [UInt8]) {
        #expect(throws: SandboxError.self, "\(name)") { try GuestJob(encoded: bytes) }
    }

    @Test func jobRejectsUnknownMissingAndWrongVersion() throws {
        guard case .dictionary(var entries) = try BencodeDecoder().decode(Self.job.encoded()) else {
            Issue.record("not a dictionary")
            return
        }
        var extra = entries
        extra[Array("zzz".utf8)] = 1
        #expect(throws: SandboxError.self) { try GuestJob(encoded: BencodeValue.dictionary(extra).encoded()) }
        var missing = entries
        missing[Array("stdin".utf8)] = nil
        #expect(throws: SandboxError.self) { try GuestJob(encoded: BencodeValue.dictionary(missing).encoded()) }
        entries[Array("v".utf8)] = 2
        let error = #expect(throws: SandboxError.self) { try GuestJob(encoded: BencodeValue.dictionary(entries).encoded()) }
        #expect(error?.message.contains("version") == true)
    }

    @Test(arguments: ["", "a/b", "..", ".", "nul\0", String(repeating: "x", count: 101)])
    func invalidInputNamesAreRejected(_ name: String) {
        var job = Self.job
        job.inputFiles[name] = [1]
        #expect(throws: SandboxError.self) { try job.validate() }
        #expect(throws: SandboxError.self) { try GuestJob(encoded: job.encoded()) }
    }

    @Test func outOfRangeLimitsAreRejected() {
        for limits in [
            JobLimits(coreSeconds: 0), JobLimits(memoryBytes: 1000), JobLimits(wallSeconds: -1),
            JobLimits(outputBytes: -1), JobLimits(memoryBytes: 8 << 30),
        ] {
            var job = Self.job
            job.limits = limits
            #expect(throws: SandboxError.self) { try job.validate() }
        }
    }

    @Test func exitCodesAndSummary() {
        #expect(GuestOutcome(termination: .exited(3)).exitCode == 3)
        #expect(GuestOutcome(termination: .deadline).exitCode == 124)
        let outcome = GuestOutcome(termination: .exited(0), fuelUsed: 3_100_000_000, wallMilliseconds: 1234)
        #expect(outcome.summary == "exited 0 after 1.2 s, 3.1 G fuel")
    }

    @Test func framesRoundTripAndSplit() throws {
        let frames: [SandboxFrame] = [
            .stderr([1, 2, 3]), .usage(fuelUsed: 9, cpuMilliseconds: 4), .outcome(GuestOutcome(termination: .deadline)),
        ]
        var splitter = FrameSplitter(maxFrameBytes: 1 << 20)
        for byte in frames.flatMap({ $0.framed() }) { splitter.append([byte]) }
        var decoded: [SandboxFrame] = []
        while let body = try splitter.next() { decoded.append(try SandboxFrame(body: body)) }
        #expect(decoded == frames)
        var small = FrameSplitter(maxFrameBytes: 4)
        small.append(SandboxFrame.stderr([1, 2, 3]).framed())
        #expect(throws: SandboxError.self) { try small.next() }
    }
}
