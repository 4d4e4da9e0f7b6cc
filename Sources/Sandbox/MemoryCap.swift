// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Synchronization
import WasmKit

/// Thrown by `MemoryCap` when the guest asks for more linear memory than it was granted;
/// it unwinds the instantiation or the `memory.grow` and becomes `.memoryLimit`.
struct MemoryLimitExceeded: Error {
    let requestedBytes: Int
}

/// WasmKit's `ResourceLimiter` for one job: linear memory up to `maxMemoryBytes`, tables up
/// to `maxTableElements`, and the peak memory size seen.
///
/// Deviations: the WebAssembly core spec lets `memory.grow` fail by returning -1. Potluck
/// ends the job with `.memoryLimit` instead, so a job that needs more memory than the lender
/// granted is reported as such rather than failing in a guest-specific way (spec 0014 §7).
final class MemoryCap: ResourceLimiter {
    let maxMemoryBytes: Int
    let maxTableElements: Int
    private let peak = Mutex<Int>(0)

    init(maxMemoryBytes: Int, maxTableElements: Int = 1 << 20) {
        self.maxMemoryBytes = maxMemoryBytes
        self.maxTableElements = maxTableElements
    }

    /// The largest linear memory size granted, in bytes.
    var peakBytes: Int { peak.withLock { $0 } }

    func limitMemoryGrowth(to desired: Int) throws -> Bool {
        guard desired <= maxMemoryBytes else { throw MemoryLimitExceeded(requestedBytes: desired) }
        peak.withLock { $0 = max($0, desired) }
        return true
    }

    func limitTableGrowth(to desired: Int) throws -> Bool {
        guard desired <= maxTableElements else { throw MemoryLimitExceeded(requestedBytes: desired * 8) }
        return true
    }
}
