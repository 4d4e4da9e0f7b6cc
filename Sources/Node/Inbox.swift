import Synchronization

/// A one-reader, one-writer queue with timeouts and a bound: a reader task pushes what arrives
/// on a connection, and the protocol code takes it when it is ready, waiting at most a given
/// time. A full inbox makes the pusher wait, so it stops reading the connection and TCP pushes
/// back on the peer: a connection costs at most `capacity` messages (`spec/0015` §5.1).
final class Inbox<Element: Sendable>: Sendable {
    private struct State {
        var buffered: [Element] = []
        var closed = false
        /// Why the writer closed, if the connection failed.
        var failure: String?
        var waiter: (id: Int, continuation: CheckedContinuation<Element?, Never>)?
        var nextWaiter = 0
        /// The writer, waiting for room.
        var pusher: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int = 4) {
        precondition(capacity > 0, "an inbox holds at least one element")
        self.capacity = capacity
    }

    /// Hands `element` to the waiting reader, or keeps it, first waiting while the inbox is full.
    func push(_ element: Element) async {
        await withCheckedContinuation { (room: CheckedContinuation<Void, Never>) in
            let full = state.withLock { state -> Bool in
                guard !state.closed, state.buffered.count >= capacity else { return false }
                state.pusher = room
                return true
            }
            if !full { room.resume() }
        }
        let waiter = state.withLock { state -> CheckedContinuation<Element?, Never>? in
            guard !state.closed else { return nil }
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter.continuation
            }
            state.buffered.append(element)
            return nil
        }
        waiter?.resume(returning: element)
    }

    /// No more elements (`failure` says why, if the connection failed): the reader gets what is
    /// buffered, then `nil`.
    func close(failure: String? = nil) {
        let (waiter, pusher) = state.withLock { state in
            state.closed = true
            if state.failure == nil { state.failure = failure }
            defer {
                state.waiter = nil
                state.pusher = nil
            }
            return (state.waiter?.continuation, state.pusher)
        }
        waiter?.resume(returning: nil)
        pusher?.resume()
    }

    /// Why the writer closed the inbox, if the connection failed.
    var failure: String? { state.withLock { $0.failure } }

    /// The next element, or `nil` once closed and drained or after `timeout`.
    func next(timeout: Duration) async -> Element? {
        await withCheckedContinuation { continuation in
            let (id, pusher) = state.withLock { state -> (Int?, CheckedContinuation<Void, Never>?) in
                if !state.buffered.isEmpty {
                    continuation.resume(returning: state.buffered.removeFirst())
                    defer { state.pusher = nil }
                    return (nil, state.pusher)
                }
                if state.closed {
                    continuation.resume(returning: nil)
                    return (nil, nil)
                }
                state.nextWaiter += 1
                state.waiter = (state.nextWaiter, continuation)
                return (state.nextWaiter, nil)
            }
            pusher?.resume()
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
