import Synchronization

/// A bounded queue of events for the one task that owns a state machine: producers post from
/// any thread; the owner takes **everything waiting** at once, so under load it handles a batch
/// of datagrams per wake-up and sends their replies in one go.
final class Mailbox<Element: Sendable>: Sendable {
    private struct State {
        var items: [Element] = []
        var waiter: CheckedContinuation<[Element]?, Never>?
        var finished = false
    }

    private enum PostOutcome {
        case refused, queued
        case handOver(CheckedContinuation<[Element]?, Never>)
    }

    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Adds an event; `false` (and nothing added) when the mailbox is full or finished.
    @discardableResult
    func post(_ element: Element) -> Bool {
        let outcome: PostOutcome = state.withLock { state in
            guard !state.finished, state.items.count < capacity else { return .refused }
            if let waiter = state.waiter {
                state.waiter = nil
                return .handOver(waiter)
            }
            state.items.append(element)
            return .queued
        }
        switch outcome {
        case .refused: return false
        case .queued: return true
        case .handOver(let waiter):
            waiter.resume(returning: [element])
            return true
        }
    }

    /// Ends the mailbox: the owner receives what is left, then `nil`.
    func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<[Element]?, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// Everything posted since the last call, waiting if there is nothing; `nil` once finished
    /// and drained. Only one task may take.
    func takeAll() async -> [Element]? {
        await withCheckedContinuation { continuation in
            let ready: [Element]?? = state.withLock { state in
                if !state.items.isEmpty {
                    defer { state.items.removeAll(keepingCapacity: true) }
                    return .some(state.items)
                }
                if state.finished { return .some(nil) }
                state.waiter = continuation
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
