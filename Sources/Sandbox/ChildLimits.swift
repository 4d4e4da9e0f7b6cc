// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The kernel limits `potluck-sandbox` puts on itself before it runs a guest: backstops
/// behind WasmKit's fuel and memory cap, in case the interpreter itself misbehaves
/// (spec 0014 §9).
struct ChildLimits: Equatable {
    /// `RLIMIT_CPU` soft limit in seconds (SIGXCPU, reported as `.outOfFuel`); the hard
    /// limit is one second more (SIGKILL).
    var cpuSeconds: UInt64
    /// `RLIMIT_DATA`: the guest's memory plus the interpreter's headroom.
    var dataBytes: UInt64
    /// `RLIMIT_FSIZE`: the largest file the guest may write (then `EFBIG`; SIGXFSZ is ignored).
    var fileBytes: UInt64
    /// `RLIMIT_NOFILE`: open descriptors, the guest's files included.
    var openFiles: UInt64 = 64

    /// Base headroom for the Swift runtime, WasmKit and the child's buffers. Measured (with
    /// `prlimit --data` on the child): `primes 1000` runs within 30 MiB in all, and `primes
    /// 20000000` (20 MB of linear memory) within 80 MiB; 64 MiB over the guest's memory, plus
    /// the per-job terms below, leaves room for larger modules and buffers.
    static let baseHeadroomBytes: UInt64 = 64 << 20

    init(for job: GuestJob, encodedBytes: Int) {
        // Fuel is the real budget; the CPU limit only catches guests whose operators are much
        // slower than the calibration (a spin loop runs ~3× fewer per second).
        cpuSeconds = UInt64((job.limits.coreSeconds * 4).rounded(.up)) + 2
        // The job is held encoded and decoded, output is held captured and framed, and
        // WasmKit's translation of the module takes several times its size.
        let headroom = Self.baseHeadroomBytes + UInt64(encodedBytes) * 2
            + UInt64(job.limits.outputBytes) * 4 + UInt64(job.module.count) * 32
        dataBytes = UInt64(max(0, job.limits.memoryBytes)) + headroom
        fileBytes = UInt64(max(job.limits.outputBytes, job.inputFiles.values.map(\.count).max() ?? 0)) + 1
    }

    /// Applies the limits to this process. Also sets `RLIMIT_CORE` 0 and `RLIMIT_NPROC` 0
    /// (no new processes or threads; it has no effect for root) and ignores SIGXFSZ.
    func apply() throws(SandboxError) {
        signal(SIGXFSZ, SIG_IGN)
        try set(RLIMIT_CORE, 0, "RLIMIT_CORE")
        try set(RLIMIT_CPU, cpuSeconds, "RLIMIT_CPU", hard: cpuSeconds + 1)
        try set(RLIMIT_DATA, dataBytes, "RLIMIT_DATA")
        try set(RLIMIT_FSIZE, fileBytes, "RLIMIT_FSIZE")
        try set(RLIMIT_NOFILE, openFiles, "RLIMIT_NOFILE")
        #if canImport(Glibc)
        try set(__RLIMIT_NPROC, 0, "RLIMIT_NPROC")
        #else
        try set(RLIMIT_NPROC, 0, "RLIMIT_NPROC")
        #endif
    }

    #if canImport(Glibc)
    typealias Resource = __rlimit_resource
    #else
    typealias Resource = Int32
    #endif

    private func set(_ resource: Resource, _ soft: UInt64, _ name: String, hard: UInt64? = nil) throws(SandboxError) {
        var limit = rlimit()
        #if canImport(Glibc)
        let code = __rlimit_resource_t(resource.rawValue)
        #else
        let code = resource
        #endif
        guard getrlimit(code, &limit) == 0 else {
            throw SandboxError(.hostFailure, "cannot read \(name): \(ScratchDirectory.lastError())")
        }
        let ceiling = limit.rlim_max
        limit.rlim_cur = rlim_t(min(UInt64(ceiling), soft))
        limit.rlim_max = rlim_t(min(UInt64(ceiling), hard ?? soft))
        guard setrlimit(code, &limit) == 0 else {
            throw SandboxError(.hostFailure, "cannot set \(name) to \(soft): \(ScratchDirectory.lastError())")
        }
    }
}
