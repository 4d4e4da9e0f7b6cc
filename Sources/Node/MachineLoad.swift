import Foundation
import Jobs

/// Whether this machine is otherwise idle, for lenders that lend only then (`idle_only`): the
/// one-minute load average (`/proc/loadavg`) less the cores Potluck's own jobs hold, against
/// the machine's core count. Idle means the rest of the machine keeps less than a quarter of
/// its cores busy (the lender's `idle_load`).
public enum MachineLoad {
    /// The share of cores others may keep busy while the machine still counts as idle.
    public static let idleShare = 0.25

    /// The machine's state now, given how many cores Potluck's jobs hold, and the share of
    /// cores others may keep busy (the lender's `idle_load`).
    public static func current(potluckCores: Int, idleShare: Double = idleShare) -> MachineState {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        guard let text = try? String(contentsOfFile: procDirectory + "/loadavg", encoding: .utf8),
              let first = text.split(separator: " ").first, let load = Double(first)
        else { return MachineState(idle: true, detail: "load unknown (no /proc/loadavg)") }
        return state(load: load, cores: cores, potluckCores: potluckCores, idleShare: idleShare)
    }

    /// Where the kernel's `/proc` is read: `POTLUCK_HOST_PROC` when set (as gopsutil's
    /// `HOST_PROC`: a node in a container reading its host's, or a test that plays the owner).
    static var procDirectory: String { ProcessInfo.processInfo.environment["POTLUCK_HOST_PROC"] ?? "/proc" }

    /// The state for a measured `load` (pure, for tests).
    public static func state(load: Double, cores: Int, potluckCores: Int, idleShare: Double = idleShare) -> MachineState {
        let others = max(0, load - Double(potluckCores))
        let detail = String(format: "load %.2f on %d cores, %d held by Potluck jobs", load, cores, potluckCores)
        return MachineState(idle: others < idleShare * Double(cores), detail: detail)
    }
}
