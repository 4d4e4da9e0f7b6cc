// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
@_spi(Fuzzing) import WasmKit
@_spi(WASIPlatform) import WASI
import WasmKitWASI

/// Runs a guest in this process with WasmKit: fuel, a memory cap, WASI preview 1 with an
/// empty environment and only the scratch directory preopened (as `.`), stdio in capped
/// buffers (spec 0014 §6).
///
/// This enforces every limit except the wall-clock deadline, which needs a separate process
/// (WasmKit cannot interrupt a running guest): `SandboxRunner` runs this inside
/// `potluck-sandbox`. Call it directly only for trusted modules (tests, benchmarks).
public enum GuestExecution {
    /// The guest path of the preopened scratch directory.
    public static let scratchGuestPath = "."
    /// `argv[0]` as the guest sees it.
    public static let programName = "job.wasm"

    /// Runs `job` to completion and reports what came of it. Never throws: every failure is a
    /// `GuestTermination`. `onStderr` receives the guest's stderr as it is written; `gauge`
    /// lets another thread watch the fuel spent.
    public static func run(
        _ job: GuestJob, onStderr: @escaping @Sendable ([UInt8]) -> Void = { _ in }, gauge: FuelGauge? = nil
    ) -> GuestOutcome {
        let clock = UsageClock()
        do { try job.validate() } catch {
            return clock.outcome(error.code == .notWebAssembly ? .invalidModule(error.message) : .sandboxFailure("invalid job: \(error.message)"))
        }
        let scratch: ScratchDirectory
        do { scratch = try ScratchDirectory(inputFiles: job.inputFiles) } catch {
            return clock.outcome(.sandboxFailure(error.message))
        }
        defer { scratch.remove() }

        let budget = OutputBudget(bytes: job.limits.outputBytes)
        let stdout = GuestOutput(budget: budget)
        let stderr = GuestOutput(budget: budget, onWrite: onStderr)
        let memory = MemoryCap(maxMemoryBytes: Int(clamping: job.limits.memoryBytes))
        let fuel = job.limits.fuel
        let engine = Engine(configuration: EngineConfiguration(compilationMode: .eager, fuelMetering: true))
        let store = Store(engine: engine)
        store.resourceLimiter = memory
        store.fuel = Fuel(remaining: fuel)
        gauge?.attach(store, budget: fuel)
        defer { gauge?.detach() }

        var termination = run(job, scratch: scratch.path, store: store, stdio: (GuestInput(job.stdin), stdout, stderr))
        var files: [String: [UInt8]] = [:]
        if termination != .outputLimit {
            do { files = try scratch.changedFiles(budget: budget) } catch { termination = .outputLimit }
        }
        var outcome = clock.outcome(termination)
        outcome.stdout = stdout.bytes
        outcome.stderr = stderr.bytes
        outcome.outputFiles = files
        outcome.fuelUsed = fuel &- min(fuel, store.fuel?.remaining ?? fuel)
        outcome.peakMemoryBytes = Int64(memory.peakBytes)
        return outcome
    }

    private static func run(
        _ job: GuestJob, scratch: String, store: Store, stdio: (GuestInput, GuestOutput, GuestOutput)
    ) -> GuestTermination {
        let module: Module
        do { module = try parseWasm(bytes: job.module) } catch {
            return .invalidModule("cannot decode the module: \(error)")
        }
        guard module.exports.contains(where: { $0.name == "_start" }) else {
            return .invalidModule("the module exports no _start function (it is not a WASI command)")
        }
        let wasi: WASIBridgeToHost
        do {
            wasi = try WASIBridgeToHost(
                args: [programName] + job.arguments, environment: [:],
                fileSystem: .host()
                    .withStdio(stdin: stdio.0, stdout: stdio.1, stderr: stdio.2)
                    .withPreopens([.init(guestPath: scratchGuestPath, hostPath: scratch)]))
        } catch {
            return .sandboxFailure("cannot set up WASI: \(error)")
        }
        do {
            return try wasi.runAndClose { wasi throws -> GuestTermination in
                var imports = Imports()
                wasi.link(to: &imports, store: store)
                let instance: Instance
                do { instance = try module.instantiate(store: store, imports: imports) } catch {
                    return classify(error, duringInstantiation: true)
                }
                return .exited(Int32(bitPattern: try wasi.start(instance)))
            }
        } catch {
            return classify(error, duringInstantiation: false)
        }
    }

    /// Maps what WasmKit threw to a termination.
    static func classify(_ error: any Error, duringInstantiation: Bool) -> GuestTermination {
        switch error {
        case is MemoryLimitExceeded: return .memoryLimit
        case is OutputLimitExceeded: return .outputLimit
        case let trap as Trap:
            let reason = firstLine(trap.description).replacing("Trap: ", with: "", maxReplacements: 1)
            if reason.contains("out of fuel") { return .outOfFuel }
            if reason.contains("initial memory size exceeds") { return .memoryLimit }
            return .trap(reason)
        default:
            let reason = firstLine(String(describing: error))
            return duringInstantiation ? .invalidModule("cannot instantiate: \(reason)") : .trap(reason)
        }
    }

    static func firstLine(_ text: String) -> String {
        String(text.prefix { $0 != "\n" }.prefix(500))
    }
}
