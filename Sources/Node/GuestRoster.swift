import Sandbox
import Synchronization

/// The guests this lender runs now, each with its pause switch (`spec/0019-native-jobs.md`
/// §2.4): while an idle-only lender's owner uses the machine, every guest is paused, a guest
/// that starts then is paused from its start, and all go on when the machine is idle again.
final class GuestRoster: Sendable {
    private struct State {
        var ownerPresent = false
        var guests: [Int: (pause: GuestPause, cores: Int)] = [:]
        var next = 0
    }

    private let state = Mutex(State())

    /// Registers a guest about to run on `cores`; its pause switch, paused already if the owner
    /// is at the machine, and the key to ``remove(_:)`` it with.
    func add(cores: Int) -> (key: Int, pause: GuestPause) {
        state.withLock { state in
            let pause = GuestPause()
            if state.ownerPresent { pause.pause() }
            state.next += 1
            state.guests[state.next] = (pause, cores)
            return (state.next, pause)
        }
    }

    func remove(_ key: Int) {
        _ = state.withLock { $0.guests.removeValue(forKey: key) }
    }

    /// Pauses every guest when the owner came to the machine, lets them all go on when it left;
    /// how many guests changed.
    @discardableResult
    func ownerPresent(_ present: Bool) -> Int {
        state.withLock { state in
            state.ownerPresent = present
            var changed = 0
            for guest in state.guests.values where guest.pause.isPaused != present {
                if present { guest.pause.pause() } else { guest.pause.resume() }
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
