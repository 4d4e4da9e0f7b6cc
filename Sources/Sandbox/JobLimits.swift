// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// What a job may consume on the lender's machine (spec 0014 §3).
///
/// Every limit is enforced by the sandbox: `coreSeconds` as WasmKit fuel (plus an `RLIMIT_CPU`
/// backstop), `memoryBytes` on the guest's linear memory (plus an `RLIMIT_DATA` backstop on the
/// child process), `wallSeconds` by the parent, which kills the child at the deadline, and
/// `outputBytes` on stdout, stderr and output files together.
public struct JobLimits: Sendable, Hashable {
    /// The CPU budget in core-seconds; the guest's fuel is
    /// `coreSeconds * JobLimits.fuelPerCoreSecond`. Encoded in whole milliseconds.
    public var coreSeconds: Double
    /// The most bytes of linear memory the guest may have. Declaring more, or growing past it,
    /// ends the job with `.memoryLimit`. Encoded exactly.
    public var memoryBytes: Int64
    /// The wall-clock deadline in seconds, counted from the start of the child process.
    /// Encoded in whole milliseconds.
    public var wallSeconds: Double
    /// The most bytes of stdout, stderr and output files together.
    public var outputBytes: Int

    /// Fuel units granted per core-second of `coreSeconds`.
    ///
    /// Calibration: WasmKit charges about one unit per executed WebAssembly operator. Measured
    /// with `potluck-bench sandbox` (release, fuel metering on, 2-core x86-64), compiled C runs
    /// 2.0 G units/s (the `primes` sieve) to 2.7 G units/s (`mandelbrot`), and a bare spin loop
    /// about 0.33 G/s. Two G per core-second lets compiled code use about its budget or a
    /// little more; a guest whose operators are much slower (spin loops, heavy host calls) meets
    /// `RLIMIT_CPU` (4 × `coreSeconds` + 2 s) or the wall deadline instead. Changing this
    /// constant changes what a budget buys, so it is part of the protocol (spec 0014 §4).
    public static let fuelPerCoreSecond: UInt64 = 2_000_000_000

    /// Limits with the given values; the defaults suit a small job.
    public init(
        coreSeconds: Double = 10, memoryBytes: Int64 = 256 << 20, wallSeconds: Double = 30,
        outputBytes: Int = 16 << 20
    ) {
        self.coreSeconds = coreSeconds
        self.memoryBytes = memoryBytes
        self.wallSeconds = wallSeconds
        self.outputBytes = outputBytes
    }

    /// The fuel budget: `coreSeconds * fuelPerCoreSecond`, saturating.
    public var fuel: UInt64 {
        let product = coreSeconds * Double(Self.fuelPerCoreSecond)
        guard product.isFinite, product > 0 else { return 0 }
        return product >= 1.8e19 ? UInt64.max : UInt64(product)
    }
}

extension JobLimits {
    /// The ranges `validate()` accepts (spec 0014 §3).
    public enum Range {
        /// At most one day of CPU.
        public static let coreSeconds: ClosedRange<Double> = 0.001...86_400
        /// One WebAssembly page (64 KiB) to 4 GiB (the whole wasm32 address space).
        public static let memoryBytes: ClosedRange<Int64> = 65_536...(4 << 30)
        /// At most one week.
        public static let wallSeconds: ClosedRange<Double> = 0.001...604_800
        /// At most 1 GiB.
        public static let outputBytes: ClosedRange<Int> = 0...(1 << 30)
    }

    /// Throws unless every limit is in its range.
    public func validate() throws(SandboxError) {
        guard Range.coreSeconds.contains(coreSeconds) else {
            throw SandboxError(.invalidJob, "coreSeconds is \(coreSeconds); it must be within \(Range.coreSeconds)")
        }
        guard Range.memoryBytes.contains(memoryBytes) else {
            throw SandboxError(.invalidJob, "memoryBytes is \(memoryBytes); it must be within \(Range.memoryBytes)")
        }
        guard Range.wallSeconds.contains(wallSeconds) else {
            throw SandboxError(.invalidJob, "wallSeconds is \(wallSeconds); it must be within \(Range.wallSeconds)")
        }
        guard Range.outputBytes.contains(outputBytes) else {
            throw SandboxError(.invalidJob, "outputBytes is \(outputBytes); it must be within \(Range.outputBytes)")
        }
    }
}
