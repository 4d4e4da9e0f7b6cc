// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Stops a running guest and lets it go on (`spec/0019-native-jobs.md` §2.7): an idle-only
/// lender's node pauses its guests while the owner uses the machine, so the owner gets every
/// core and the guest keeps its memory and its work so far.
///
/// The node holds one per run and may call ``pause()`` and ``resume()`` at any time, before
/// the guest starts too. The supervisor attaches how to stop its guest: a native task's cgroup
/// is frozen (the whole tree, however it forks); a wasm job's child gets SIGSTOP. The guest's
/// wall-clock deadline moves by the time it spent paused, and its reported wall time leaves
/// that time out. A guest that cannot be stopped here (no freezer cgroup) runs on, and
/// ``isEffective`` says so: its deadline does not move, and ``pausedFor`` stays `nil`.
public final class GuestPause: Sendable {
    private struct State {
        var paused = false
        var since: UInt64 = 0
        var total: UInt64 = 0
        /// Stops (`true`) or continues (`false`) the guest; whether it could.
        var freeze: (@Sendable (Bool) -> Bool)?
        var effective = true
        /// The guest has ended, or is being killed: it is never stopped again.
        var finished = false
    }

    private let state = Mutex(State())

    public init() {}

    /// Stops the guest now (or as soon as it starts). Does nothing if already paused.
    public func pause() {
        state.withLock { state in
            guard !state.paused, !state.finished else { return }
            state.paused = true
            state.since = UsageClock.monotonicNanoseconds()
            if let freeze = state.freeze { state.effective = freeze(true) }
        }
    }

    /// Lets the guest go on. Does nothing if it is not paused.
    public func resume() {
        state.withLock { state in
            guard state.paused else { return }
            state.paused = false
            if state.effective { state.total += UsageClock.monotonicNanoseconds() - state.since }
            if let freeze = state.freeze, !state.finished { _ = freeze(false) }
        }
    }

    /// Whether the guest is meant to be paused now (``isEffective``: whether it is).
    public var isPaused: Bool { state.withLock { $0.paused } }

    /// How long the present pause has lasted, or `nil` when the guest runs.
    public var pausedFor: Duration? {
        state.withLock { state in
            state.paused && state.effective ? .nanoseconds(Int64(UsageClock.monotonicNanoseconds() - state.since)) : nil
        }
    }

    /// Whether pausing really stops the guest here (`false`: it found no way to, and runs on).
    public var isEffective: Bool { state.withLock { $0.effective } }

    /// Nanoseconds spent paused so far, the present pause included.
    func pausedNanoseconds(now: UInt64 = UsageClock.monotonicNanoseconds()) -> UInt64 {
        state.withLock { $0.total + ($0.paused && $0.effective ? now - min(now, $0.since) : 0) }
    }

    /// Called by the supervisor once its guest exists: from now on a pause stops it (at once if
    /// the guest is already meant to be paused).
    func attach(_ freeze: @escaping @Sendable (Bool) -> Bool) {
        state.withLock { state in
            guard !state.finished else { return }
            state.freeze = freeze
            if state.paused { state.effective = freeze(true) }
        }
    }

    /// Called before the guest is killed or once it has ended: continues it if it was stopped
    /// (a frozen process cannot die) and never stops it again.
    func finish() {
        state.withLock { state in
            guard !state.finished else { return }
            state.finished = true
            if state.paused, let freeze = state.freeze { _ = freeze(false) }
            state.freeze = nil
        }
    }
}
