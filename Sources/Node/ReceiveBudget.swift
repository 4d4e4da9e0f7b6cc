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

/// How many bytes of asked-for jobs strangers (peers with no receipt, not friends) may send a
/// lender per second, all together (`spec/0017` §2.1): a token bucket of 16 MiB/s with bursts of
/// 32 MiB. Receiving a job costs the lender CPU whatever its content; without this, strangers
/// cycling 16 MiB asks keep a core busy decrypting and the lender's known borrowers wait.
final class StrangerRate: Sendable {
    static let bytesPerSecond = 16.0 * 1024 * 1024
    static let burst = 32.0 * 1024 * 1024
    private let bucket: Mutex<(tokens: Double, updated: ContinuousClock.Instant)>

    init() {
        bucket = Mutex((Self.burst, ContinuousClock.now))
    }

    /// Takes `bytes` if the bucket holds them; `false` (nothing taken) otherwise.
    func take(_ bytes: Int, now: ContinuousClock.Instant = .now) -> Bool {
        bucket.withLock { bucket in
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket = (min(Self.burst, bucket.tokens + max(0, seconds) * Self.bytesPerSecond), now)
            guard bucket.tokens >= Double(bytes) else { return false }
            bucket.tokens -= Double(bytes)
            return true
        }
    }
}
