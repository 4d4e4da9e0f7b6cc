// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import PotluckCrypto
import NIOCore
import Synchronization

/// A direct TCP connection punched through two routers (`spec/0021-reachability.md` §6).
///
/// As soon as the relay has told both sides where the other is (the same message reaches both
/// at once, so they start within one trip of each other), each connects from the local port of
/// its relayed connection to the other's endpoint, and listens on that port too. A router that
/// keeps one public port per local port (endpoint-independent mapping) lets the other side's SYN
/// in once its own SYN went out, and TCP's simultaneous open (RFC 9293 §3.5) joins the two; the
/// listener takes a SYN that arrives while no attempt is pending, and lets a side that anyone
/// can reach accept the other even from behind a symmetric NAT. A refused attempt is retried
/// after a pause that grows from 5 to 250 ms, until the window closes. Between a router that
/// gives each destination a fresh port and one that keeps ports, port guessing stands in for
/// this plain punch (§6.2, `HolePunch+Guessing.swift`).
///
/// The connection is then proven: each side first sends a 32-byte proof drawn from the
/// session's secret keys (`SessionKeys.punchProof`) and checks the other's, so a connection to
/// the wrong host (a private address that is someone else's, a relay that lied) is closed,
/// never used.
public enum HolePunch {
    /// How long a relayed connection keeps trying to punch before it settles on the relay.
    public static let defaultWindow: Duration = .seconds(5)

    /// Starts punching from `local` toward the endpoint `rendezvous` names, for at most `within`;
    /// `nil` when there is nothing to punch toward. Cancel the task to give up.
    static func start(from local: SocketAddress?, toward rendezvous: RelayWire.Rendezvous, within: Duration) -> Task<ByteTransport?, Never>? {
        guard let local, let target = rendezvous.target?.socketAddress else { return nil }
        let guessing = guessing(local: WireEndpoint(local), rendezvous: rendezvous)
        return Task { await open(from: local, to: target, within: within, guessing: guessing) }
    }

    /// The first TCP connection between `local` and `target`, dialled or accepted; `nil` when
    /// none opened within `within` or the task was cancelled. With `guessing`, the connections
    /// of a port-guessing punch stand in for the plain ones (`HolePunch+Guessing.swift`).
    static func open(from local: SocketAddress, to target: SocketAddress, within: Duration, guessing: Guessing = .none) async -> ByteTransport? {
        let first = FirstConnection()
        let deadline = ContinuousClock.now + within
        if guessing == .none {
            await plain(from: local, to: target, deadline: deadline, first: first)
        } else {
            guess(guessing, from: local, to: target, deadline: deadline, first: first)
        }
        let timer = Task {
            try? await Task.sleep(until: deadline)
            first.offer(nil)
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await first.value
        } onCancel: {
            first.offer(nil)
        }
    }

    /// The plain punch: listens on `local`, and connects from it to `target` until it opens.
    private static func plain(from local: SocketAddress, to target: SocketAddress, deadline: ContinuousClock.Instant,
                              first: FirstConnection) async {
        let listener = try? await ByteTransport.listen(on: local)
        if let listener { first.onSettled { listener.channel.close(promise: nil) } }
        Task {
            guard let listener else { return }
            do {
                try await listener.executeThenClose { accepted in
                    for try await transport in accepted {
                        // Any port: a peer behind a symmetric NAT comes from a port no one saw.
                        if transport.channel.remoteAddress?.ipAddress == target.ipAddress {
                            first.offer(transport)
                        } else {
                            await transport.close()
                        }
                    }
                }
            } catch {}
        }
        Task {
            var pause = Duration.milliseconds(5)
            while !first.isSettled {
                let left = deadline - ContinuousClock.now
                guard left > .milliseconds(1) else { break }
                if let transport = try? await ByteTransport.connect(from: local, to: target, timeout: left) {
                    first.offer(transport)
                    return
                }
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, .milliseconds(250))
            }
        }
    }

    /// Sends this side's proof on `transport` and checks the peer's; returns the bytes that
    /// followed it, or `nil` (the connection closed) when it does not verify in `timeout`.
    static func prove(_ transport: ByteTransport, keys: SessionKeys, isClient: Bool, timeout: Duration) async -> [UInt8]? {
        let mine = keys.punchProof(isClient ? HandshakeLayout.clientRole : HandshakeLayout.serverRole)
        let theirs = keys.punchProof(isClient ? HandshakeLayout.serverRole : HandshakeLayout.clientRole)
        let timer = transport.channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) { transport.abort() }
        defer { timer.cancel() }
        do {
            try await transport.write(mine).get()
            var reader = ByteReader(transport)
            guard try await reader.read(theirs.count) == theirs else {
                await transport.close()
                return nil
            }
            return reader.buffered
        } catch {
            await transport.close()
            return nil
        }
    }
}

/// The first of several racing attempts to settle it; later ones are closed.
final class FirstConnection: Sendable {
    private struct State {
        var settled: ByteTransport??
        var waiter: CheckedContinuation<ByteTransport?, Never>?
        var onSettled: [@Sendable () -> Void] = []
    }

    private let state = Mutex(State())

    var isSettled: Bool { state.withLock { $0.settled != nil } }

    func onSettled(_ action: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            if state.settled != nil { return true }
            state.onSettled.append(action)
            return false
        }
        if now { action() }
    }

    /// Settles with `transport` if nothing has yet; otherwise closes it.
    func offer(_ transport: ByteTransport?) {
        let taken = state.withLock { state -> (CheckedContinuation<ByteTransport?, Never>?, [@Sendable () -> Void])? in
            guard state.settled == nil else { return nil }
            state.settled = .some(transport)
            defer { state.waiter = nil; state.onSettled = [] }
            return (state.waiter, state.onSettled)
        }
        guard let (waiter, actions) = taken else {
            transport?.abort()
            return
        }
        waiter?.resume(returning: transport)
        for action in actions { action() }
    }

    var value: ByteTransport? {
        get async {
            await withCheckedContinuation { continuation in
                let settled = state.withLock { state -> ByteTransport?? in
                    if let settled = state.settled { return .some(settled) }
                    state.waiter = continuation
                    return nil
                }
                if let settled { continuation.resume(returning: settled) }
            }
        }
    }
}
