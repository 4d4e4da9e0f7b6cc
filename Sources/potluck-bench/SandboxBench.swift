// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import CBenchKernel
import ExampleJobs
import Sandbox

/// `potluck-bench sandbox`: the `primes` sieve (the same C source) run natively and as a
/// wasm32-wasi guest in the sandbox with fuel metering on — in-process through
/// `GuestExecution`, and through the whole `SandboxRunner` (child process, rlimits, frames).
/// The ratio is the sandbox's speed over native: the goal is at most a 6× slowdown (≥ 0.167).
/// A `mandelbrot` row reports the fuel rate of floating-point code for the calibration of
/// `JobLimits.fuelPerCoreSecond`.
func sandboxBench() async -> [BenchResult] {
    let limit: UInt32 = 20_000_000
    let rounds = 7
    let job = GuestJob(
        module: ExampleJobs.primes, arguments: [String(limit)],
        limits: JobLimits(coreSeconds: 600, memoryBytes: 64 << 20, wallSeconds: 600))
    let runner = SandboxRunner.runningExecutableAsChild()
    var native: [Double] = [], inProcess: [Double] = [], child: [Double] = []
    var fuelRates: [Double] = [], fuelUsed: UInt64 = 0
    var expected = ""
    for _ in 0..<rounds {
        var start = nowNanoseconds()
        let count = potluck_bench_count_primes_below(limit)
        native.append(seconds(since: start))
        expected = "\(count)\n"

        start = nowNanoseconds()
        let outcome = GuestExecution.run(job)
        inProcess.append(seconds(since: start))
        check(outcome, expected)
        fuelUsed = outcome.fuelUsed
        fuelRates.append(Double(outcome.fuelUsed) / inProcess.last!)

        start = nowNanoseconds()
        check(await runner.run(job), expected)
        child.append(seconds(since: start))
    }
    let unit = "runs/s"
    let name = "primes below \(limit / 1_000_000)M"
    var results = [
        BenchResult(bench: "sandbox", caseName: "\(name), in-process WasmKit + fuel", unit: unit,
                    potluck: 1 / median(inProcess), reference: 1 / median(native),
                    extra: [("fuel", Double(fuelUsed)), ("fuel_per_second", median(fuelRates))]),
        BenchResult(bench: "sandbox", caseName: "\(name), via the sandbox child process", unit: unit,
                    potluck: 1 / median(child), reference: 1 / median(native)),
    ]
    results.append(mandelbrotFuelRate(rounds: rounds))
    return results
}

/// The fuel rate of the `mandelbrot` job in-process (no native reference).
private func mandelbrotFuelRate(rounds: Int) -> BenchResult {
    let job = GuestJob(
        module: ExampleJobs.mandelbrot, arguments: ["640", "480", "256"],
        limits: JobLimits(coreSeconds: 600, memoryBytes: 64 << 20, wallSeconds: 600))
    var times: [Double] = [], rates: [Double] = []
    for _ in 0..<rounds {
        let start = nowNanoseconds()
        let outcome = GuestExecution.run(job)
        times.append(seconds(since: start))
        rates.append(Double(outcome.fuelUsed) / times.last!)
        if outcome.termination != .exited(0) { PotluckBench.printError("mandelbrot: \(outcome.summary)") }
    }
    return BenchResult(bench: "sandbox", caseName: "mandelbrot 640x480, in-process (fuel rate only)", unit: "runs/s",
                       potluck: 1 / median(times), reference: .nan, extra: [("fuel_per_second", median(rates))])
}

private func seconds(since start: UInt64) -> Double { Double(nowNanoseconds() - start) / 1e9 }

private func check(_ outcome: GuestOutcome, _ expected: String) {
    if outcome.termination != .exited(0) || String(decoding: outcome.stdout, as: UTF8.self) != expected {
        PotluckBench.printError("sandbox bench: unexpected outcome: \(outcome.summary)")
    }
}
