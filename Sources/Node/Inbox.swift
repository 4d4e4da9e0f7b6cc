import Synchronization

/// A one-reader queue with timeouts: a reader task pushes what arrives on a connection, and
/// the protocol code takes it when it is ready, waiting at most a given time.
final class Inbox<Element: Sendable>: Sendable {
    private struct State {
        var buffered: [Element] = []
        var closed = false
        var waiter: (id: Int, continuation: CheckedContinuation<Element?, Never>)?
        var nextWaiter = 0
    }

    private let state = Mutex(State())

    init() {}

    /// Hands `element` to the waiting reader, or keeps it.
    func push(_ element: Element) {
        let waiter = state.withLock { state -> CheckedContinuation<Element?, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter.continuation
            }
            state.buffered.append(element)
            return nil
        }
        waiter?.resume(returning: element)
    }

    /// No more elements: the reader gets what is buffered, then `nil`.
    func close() {
        let waiter = state.withLock { state -> CheckedContinuation<Element?, Never>? in
            state.closed = true
            defer { state.waiter = nil }
            return state.waiter?.continuation
        }
        waiter?.resume(returning: nil)
    }

    /// The next element, or `nil` once closed and drained or after `timeout`.
    func next(timeout: Duration) async -> Element? {
        await withCheckedContinuation { continuation in
            let id = state.withLock { state -> Int? in
                if !state.buffered.isEmpty {
                    continuation.resume(returning: state.buffered.removeFirst())
                    return nil
                }
                if state.closed {
                    continuation.resume(returning: nil)
                    return nil
                }
                state.nextWaiter += 1
                state.waiter = (state.nextWaiter, continuation)
                return state.nextWaiter
            }
            guard let id else { return }
            Task { [self] in
                try? await Task.sleep(for: timeout)
                let expired = state.withLock { state -> CheckedContinuation<Element?, Never>? in
                    guard let waiter = state.waiter, waiter.id == id else { return nil }
                    state.waiter = nil
                    return waiter.continuation
                }
                expired?.resume(returning: nil)
            }
        }
    }
}
