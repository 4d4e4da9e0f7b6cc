// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// How a guest's run ended (spec 0014 §7).
public enum GuestTermination: Sendable, Hashable {
    /// The guest returned from `_start` (code 0) or called `proc_exit(code)`.
    case exited(Int32)
    /// The fuel budget (`coreSeconds * fuelPerCoreSecond`) ran out, or the kernel's
    /// `RLIMIT_CPU` backstop fired.
    case outOfFuel
    /// The guest declared or grew its linear memory past `memoryBytes`, or the child process
    /// hit its `RLIMIT_DATA` backstop.
    case memoryLimit
    /// The wall-clock deadline passed and the parent killed the child.
    case deadline
    /// stdout, stderr and output files together exceeded `outputBytes`.
    case outputLimit
    /// The guest trapped (unreachable, out-of-bounds access, stack exhaustion, …).
    case trap(String)
    /// The module could not be decoded, validated or instantiated, or exports no `_start`.
    case invalidModule(String)
    /// The sandbox itself failed (could not start, crashed, was cancelled, sent garbage).
    case sandboxFailure(String)
}

extension GuestTermination {
    /// The stable name of the case, as encoded (spec 0014 §7).
    public var kind: String {
        switch self {
        case .exited: "exited"
        case .outOfFuel: "outOfFuel"
        case .memoryLimit: "memoryLimit"
        case .deadline: "deadline"
        case .outputLimit: "outputLimit"
        case .trap: "trap"
        case .invalidModule: "invalidModule"
        case .sandboxFailure: "sandboxFailure"
        }
    }

    /// The exit code a shell would show: the guest's own code when it exited, otherwise a
    /// fixed code per termination, in the style of `timeout(1)` and `128 + signal`:
    /// deadline 124, sandboxFailure 125, invalidModule 126, trap 134 (SIGABRT),
    /// memoryLimit 137 (SIGKILL, as an OOM kill), outOfFuel 152 (SIGXCPU),
    /// outputLimit 153 (SIGXFSZ).
    public var exitCode: Int32 {
        switch self {
        case .exited(let code): code
        case .deadline: 124
        case .sandboxFailure: 125
        case .invalidModule: 126
        case .trap: 134
        case .memoryLimit: 137
        case .outOfFuel: 152
        case .outputLimit: 153
        }
    }

    /// The detail carried by `trap`, `invalidModule` and `sandboxFailure`, else `nil`.
    public var reason: String? {
        switch self {
        case .trap(let reason), .invalidModule(let reason), .sandboxFailure(let reason): reason
        default: nil
        }
    }
}
