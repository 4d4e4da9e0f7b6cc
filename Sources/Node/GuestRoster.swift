import Sandbox
import Synchronization

/// The guests this lender runs now, each with its pause switch (`spec/0019-native-jobs.md`
/// §2.4): while something holds them — an idle-only lender's owner using the machine, or the
/// owner pausing lending — every guest is paused, a guest that starts then is paused from its
/// start, and all go on when nothing holds them any more.
final class GuestRoster: Sendable {
    /// Why guests are paused.
    enum Hold: Sendable, Hashable {
        /// An idle-only lender's machine is busy with its owner's work.
        case ownerPresent
        /// The owner paused lending (the dashboard, `potluck offer pause`).
        case lendingPaused
    }

    private struct State {
        var holds: Set<Hold> = []
        var guests: [Int: (pause: GuestPause, cores: Int)] = [:]
        var next = 0
    }

    private let state = Mutex(State())

    /// Registers a guest about to run on `cores`; its pause switch, paused already if anything
    /// holds the guests, and the key to ``remove(_:)`` it with.
    func add(cores: Int) -> (key: Int, pause: GuestPause) {
        state.withLock { state in
            let pause = GuestPause()
            if !state.holds.isEmpty { pause.pause() }
            state.next += 1
            state.guests[state.next] = (pause, cores)
            return (state.next, pause)
        }
    }

    func remove(_ key: Int) {
        _ = state.withLock { $0.guests.removeValue(forKey: key) }
    }

    /// Sets or lifts `hold`: every guest is paused while any hold is on and goes on when none
    /// is; how many guests changed.
    @discardableResult
    func hold(_ hold: Hold, _ on: Bool) -> Int {
        state.withLock { state in
            if on { state.holds.insert(hold) } else { state.holds.remove(hold) }
            let paused = !state.holds.isEmpty
            var changed = 0
            for guest in state.guests.values where guest.pause.isPaused != paused {
                if paused { guest.pause.pause() } else { guest.pause.resume() }
                changed += 1
            }
            return changed
        }
    }

    /// The cores of the guests paused now: they hold no core while they are stopped, so the
    /// machine's load is measured without them.
    var pausedCores: Int {
        state.withLock { $0.guests.values.filter { $0.pause.isPaused }.reduce(0) { $0 + $1.cores } }
    }
}
