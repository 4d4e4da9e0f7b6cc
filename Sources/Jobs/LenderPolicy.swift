// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import PotluckCrypto
import Records

/// What a job asks of a lender (`spec/0017-jobs.md` §3): the borrower's `--cores` and the
/// job's own limits.
public struct JobDemand: Sendable, Hashable {
    public var runtime: String
    /// The native tool a task runs (`spec/0019-native-jobs.md`), `nil` for a wasm job.
    public var tool: String?
    public var cores: Int
    public var memoryBytes: Int64
    /// CPU time the job may use.
    public var coreSeconds: Double
    /// How long the job may run, start to end.
    public var wallSeconds: Double

    public init(runtime: String = "wasm32-wasi", tool: String? = nil, cores: Int, memoryBytes: Int64, coreSeconds: Double, wallSeconds: Double) {
        self.runtime = runtime
        self.tool = tool
        self.cores = cores
        self.memoryBytes = memoryBytes
        self.coreSeconds = coreSeconds
        self.wallSeconds = wallSeconds
    }
}

/// Whether the lender's machine is otherwise idle, as the node measured it.
public struct MachineState: Sendable, Hashable {
    public var idle: Bool
    /// For refusals: what was measured, such as "load 1.70 on 2 cores".
    public var detail: String

    public init(idle: Bool, detail: String) {
        self.idle = idle
        self.detail = detail
    }
}

/// The lender's full policy, as it stands on the lender's machine (`spec/0017-jobs.md` §3). The
/// published offer summarises it; this is what decides, and it always wins (DESIGN decision 5).
public struct LenderPolicy: Sendable, Hashable {
    public var cores: Int
    public var memoryBytes: Int64
    public var runtimes: Set<String>
    /// Native tools lent, by published name.
    public var tools: Set<String>
    /// UTC daily windows; empty means at any time.
    public var windows: [TimeWindow]
    public var idleOnly: Bool
    /// If not empty, only these peers may borrow.
    public var allowed: Set<PublicKey>
    public var denied: Set<PublicKey>
    /// Served first when the lender is busy.
    public var friends: Set<PublicKey>
    /// At most this many jobs at once.
    public var maxJobs: Int
    /// The longest a job may run, in seconds.
    public var maxWallSeconds: Double

    public init(cores: Int, memoryBytes: Int64, runtimes: Set<String> = ["wasm32-wasi"], tools: Set<String> = [], windows: [TimeWindow] = [],
                idleOnly: Bool = false, allowed: Set<PublicKey> = [], denied: Set<PublicKey> = [],
                friends: Set<PublicKey> = [], maxJobs: Int = 2, maxWallSeconds: Double = 3600) {
        self.cores = cores
        self.memoryBytes = memoryBytes
        self.runtimes = runtimes
        self.tools = tools
        self.windows = windows
        self.idleOnly = idleOnly
        self.allowed = allowed
        self.denied = denied
        self.friends = friends
        self.maxJobs = maxJobs
        self.maxWallSeconds = maxWallSeconds
    }

    /// The first rule `demand` from `borrower` breaks at `minuteOfDay` (UTC) on a machine in
    /// `machine` state, or `nil` if the job may wait for a slot. Checked in this order: deny,
    /// allow, runtime, tool, size, window, idleness.
    public func refusal(of demand: JobDemand, from borrower: PublicKey, minuteOfDay: Int, machine: MachineState) -> JobRefusal? {
        if denied.contains(borrower) {
            return JobRefusal(.denied, "this lender does not lend to \(borrower.peerID)")
        }
        if !allowed.isEmpty && !allowed.contains(borrower) {
            return JobRefusal(.notAllowed, "this lender lends only to the \(allowed.count) peer(s) on its allow list")
        }
        if !runtimes.contains(demand.runtime) {
            return JobRefusal(.runtime, "this lender runs \(runtimes.sorted().joined(separator: ", ")), not \(demand.runtime)")
        }
        if let tool = demand.tool, !tools.contains(tool) {
            let lent = tools.isEmpty ? "no tools" : tools.sorted().joined(separator: ", ")
            return JobRefusal(.tool, "this lender does not lend \(tool) (it lends \(lent))")
        }
        if demand.cores > cores {
            return JobRefusal(.tooLarge, "the job asks for \(demand.cores) core(s); this lender lends at most \(cores)")
        }
        if demand.memoryBytes > memoryBytes {
            return JobRefusal(.tooLarge, "the job asks for \(demand.memoryBytes >> 20) MiB; this lender lends at most \(memoryBytes >> 20) MiB")
        }
        if demand.wallSeconds > maxWallSeconds {
            return JobRefusal(.tooLarge, "the job may run \(Int(demand.wallSeconds)) s; this lender allows at most \(Int(maxWallSeconds)) s")
        }
        if !windows.isEmpty && !windows.contains(where: { $0.contains(minute: minuteOfDay) }) {
            let list = windows.map(\.description).joined(separator: ", ")
            return JobRefusal(.outsideWindow, "this lender lends only during \(list) UTC")
        }
        if idleOnly && !machine.idle {
            return JobRefusal(.notIdle, "this lender lends only while its machine is idle, and it is busy (\(machine.detail))")
        }
        return nil
    }

    /// Whether `demand` fits beside the jobs already running (`load`).
    public func hasRoom(for demand: JobDemand, beside load: LenderLoad) -> Bool {
        load.running < maxJobs && load.cores + demand.cores <= cores && load.memoryBytes + demand.memoryBytes <= memoryBytes
    }
}

/// What the lender's running jobs hold.
public struct LenderLoad: Sendable, Hashable {
    public var running = 0
    public var cores = 0
    public var memoryBytes: Int64 = 0

    public init() {}

    public mutating func add(_ demand: JobDemand) {
        running += 1
        cores += demand.cores
        memoryBytes += demand.memoryBytes
    }

    public mutating func remove(_ demand: JobDemand) {
        running -= 1
        cores -= demand.cores
        memoryBytes -= demand.memoryBytes
    }
}
