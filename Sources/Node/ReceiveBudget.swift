import Synchronization

/// The bytes of job payloads a lender holds for admitted connections at once
/// (`spec/0017-jobs.md` §2.1): an asked-for job reserves its size before its bytes may come,
/// and releases it when its connection ends. What strangers can make a lender hold is thereby
/// bounded by one figure of its config (read at each ask, so an edit applies at once),
/// whatever the number of connections.
final class ReceiveBudget: Sendable {
    private let used = Mutex(0)

    init() {}

    /// Reserves `bytes`; `false` (nothing reserved) when that would exceed `total`.
    func reserve(_ bytes: Int, within total: Int) -> Bool {
        used.withLock { used in
            guard used + bytes <= total else { return false }
            used += bytes
            return true
        }
    }

    func release(_ bytes: Int) {
        used.withLock { $0 = max(0, $0 - bytes) }
    }

    /// Bytes reserved now.
    var inUse: Int { used.withLock { $0 } }
}
