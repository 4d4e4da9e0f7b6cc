// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import PotluckCrypto

/// What came of running a `GuestJob` (spec 0014 §5).
public struct GuestOutcome: Sendable, Hashable {
    /// How the run ended.
    public var termination: GuestTermination
    /// The guest's standard output, at most the job's `outputBytes`.
    public var stdout: [UInt8]
    /// The guest's standard error (also streamed as `GuestProgress.stderr` while it runs).
    public var stderr: [UInt8]
    /// Regular files at the top of the scratch directory at exit that are new or differ from
    /// the job's input files, by name. Subdirectories and symbolic links are not returned.
    public var outputFiles: [String: [UInt8]]
    /// Fuel the guest consumed (about one unit per WebAssembly operator).
    public var fuelUsed: UInt64
    /// CPU time (user + system) of the sandbox child process, in milliseconds.
    public var cpuMilliseconds: Int64
    /// Wall-clock time of the run, in milliseconds.
    public var wallMilliseconds: Int64
    /// The largest size the guest's linear memory reached, in bytes.
    public var peakMemoryBytes: Int64

    /// An outcome with the given parts.
    public init(
        termination: GuestTermination, stdout: [UInt8] = [], stderr: [UInt8] = [],
        outputFiles: [String: [UInt8]] = [:], fuelUsed: UInt64 = 0, cpuMilliseconds: Int64 = 0,
        wallMilliseconds: Int64 = 0, peakMemoryBytes: Int64 = 0
    ) {
        self.termination = termination
        self.stdout = stdout
        self.stderr = stderr
        self.outputFiles = outputFiles
        self.fuelUsed = fuelUsed
        self.cpuMilliseconds = cpuMilliseconds
        self.wallMilliseconds = wallMilliseconds
        self.peakMemoryBytes = peakMemoryBytes
    }

    /// The guest's exit code, or a fixed code for other terminations (see
    /// `GuestTermination.exitCode`).
    public var exitCode: Int32 { termination.exitCode }

    /// The bytes it carries back: stdout, stderr and the output files.
    public var resultBytes: Int { stdout.count + stderr.count + outputFiles.values.reduce(0) { $0 + $1.count } }

    /// One line for people, e.g. `"exited 0 after 1.2 s, 3.1 G fuel"`.
    public var summary: String {
        let how: String
        switch termination {
        case .exited(let code): how = "exited \(code)"
        case .outOfFuel: how = "ran out of fuel"
        case .memoryLimit: how = "hit the memory limit"
        case .deadline: how = "missed the deadline"
        case .outputLimit: how = "hit the output limit"
        case .trap(let reason): how = "trapped (\(reason))"
        case .invalidModule(let reason): how = "was refused: invalid module (\(reason))"
        case .sandboxFailure(let reason): how = "failed in the sandbox (\(reason))"
        }
        let seconds = (Double(wallMilliseconds) / 100).rounded() / 10
        return "\(how) after \(seconds) s, \(Self.formatFuel(fuelUsed)) fuel"
    }

    static func formatFuel(_ fuel: UInt64) -> String {
        let value = Double(fuel)
        for (scale, suffix) in [(1e12, " T"), (1e9, " G"), (1e6, " M"), (1e3, " k")] where value >= scale {
            return "\(((value / scale) * 10).rounded() / 10)\(suffix)"
        }
        return "\(fuel)"
    }
}
