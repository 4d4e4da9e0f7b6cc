// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Synchronization
import WasmKit

/// Lets another thread look at how much fuel a running guest has spent, for progress reports.
///
/// WasmKit's `Store` is thread-confined and charges fuel through an unsynchronised word, so a
/// reading taken while the guest runs is an advisory snapshot: an aligned 64-bit load that
/// may be a few charges stale. It is only ever used for `GuestProgress.usage`; the outcome's
/// `fuelUsed` is read on the guest's own thread after it stops.
public final class FuelGauge: Sendable {
    private let attached = Mutex<(store: Store?, budget: UInt64)>((nil, 0))

    /// A gauge that reads 0 until a guest starts.
    public init() {}

    func attach(_ store: Store, budget: UInt64) {
        attached.withLock { $0 = (store, budget) }
    }

    func detach() {
        attached.withLock { $0.store = nil }
    }

    /// Fuel spent so far by the attached guest (0 if none).
    public var fuelUsed: UInt64 {
        attached.withLock { state in
            guard let remaining = state.store?.fuel?.remaining else { return 0 }
            return state.budget &- min(remaining, state.budget)
        }
    }
}
