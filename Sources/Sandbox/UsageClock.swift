// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall and CPU time since it was made.
struct UsageClock {
    let startNanoseconds = UsageClock.monotonicNanoseconds()
    let startCPUMilliseconds = UsageClock.processCPUMilliseconds()

    var wallMilliseconds: Int64 { Int64((Self.monotonicNanoseconds() - startNanoseconds) / 1_000_000) }
    var cpuMilliseconds: Int64 { Self.processCPUMilliseconds() - startCPUMilliseconds }

    /// An outcome with this clock's times and nothing else.
    func outcome(_ termination: GuestTermination) -> GuestOutcome {
        GuestOutcome(termination: termination, cpuMilliseconds: cpuMilliseconds, wallMilliseconds: wallMilliseconds)
    }

    static func monotonicNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    /// User plus system CPU time of this process, in milliseconds.
    static func processCPUMilliseconds() -> Int64 {
        var usage = rusage()
        #if canImport(Glibc)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        return milliseconds(usage.ru_utime) + milliseconds(usage.ru_stime)
    }

    static func milliseconds(_ time: timeval) -> Int64 {
        Int64(time.tv_sec) * 1000 + Int64(time.tv_usec) / 1000
    }
}
