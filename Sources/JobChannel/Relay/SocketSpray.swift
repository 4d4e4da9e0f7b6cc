// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import NIOCore
import NIOPosix
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Many TCP connects sent at once, for a port-guessing punch (`spec/0021-reachability.md` §6.2):
/// each a non-blocking socket whose SYN leaves in the `connect` call itself, so hundreds go out
/// within milliseconds. A check on the event loop every 2 ms sends the next batch and watches
/// them until the punch settles or its deadline passes, then closes all but the one kept.
///
/// Several guesses may open at once (two sets of 768 ports share nine on average), and the two
/// sides must keep the same one: the side that opened many (`opener`) keeps the first that opens
/// and sends one byte, `01`, on it; the side that probed keeps the connection that brings that
/// byte. The byte is read from the socket itself, before NIO takes the socket over, so nothing
/// after it is lost.
final class SocketSpray: Sendable {
    /// The byte that names the connection the opener kept.
    static let chosen: UInt8 = 0x01

    /// Attempts not yet sent, sockets whose connect is under way, and (on the probing side)
    /// those opened that have not yet brought the chosen byte.
    private struct Sockets {
        var unsent: ArraySlice<(from: WireEndpoint, to: WireEndpoint)>
        var connecting: [CInt] = []
        var opened: [CInt] = []
    }

    /// Connects sent per check: the first shared port is likely once a quarter of both sides'
    /// are out, so checking between batches finds it before the last are sent.
    static let batch = 128

    private let sockets: Mutex<Sockets>
    private let first: FirstConnection
    private let opener: Bool

    private init(attempts: [(from: WireEndpoint, to: WireEndpoint)], first: FirstConnection, opener: Bool) {
        self.sockets = Mutex(Sockets(unsent: attempts[...]))
        self.first = first
        self.opener = opener
    }

    /// Sends one connect per attempt, ``batch`` at a time, and watches them until `deadline`,
    /// offering the one to keep to `first`. Attempts whose socket cannot be made or bound are
    /// skipped.
    static func start(_ attempts: [(from: WireEndpoint, to: WireEndpoint)], opener: Bool, deadline: ContinuousClock.Instant,
                      first: FirstConnection) {
        guard !attempts.isEmpty else { return }
        let spray = SocketSpray(attempts: attempts, first: first, opener: opener)
        spray.sendMore()
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        loop.scheduleRepeatedTask(initialDelay: .milliseconds(1), delay: .milliseconds(2)) { task in
            if first.isSettled || ContinuousClock.now >= deadline {
                spray.closeAll()
                task.cancel()
            } else if let kept = spray.keep() {
                spray.closeAll()
                task.cancel()
                spray.adopt(kept, on: loop)
            } else {
                spray.sendMore()
            }
        }
    }

    /// Sends the next ``batch`` connects.
    private func sendMore() {
        sockets.withLock { sockets in
            let next = sockets.unsent.prefix(Self.batch)
            sockets.unsent = sockets.unsent.dropFirst(next.count)
            sockets.connecting += next.compactMap { Self.open(from: $0.from, to: $0.to) }
        }
    }

    /// A non-blocking socket bound to `from` (shared with the sockets already there, unless its
    /// port is 0: then a fresh one) whose connect to `to` is under way; `nil` when any step
    /// failed.
    private static func open(from: WireEndpoint, to: WireEndpoint) -> CInt? {
        guard let source = from.socketAddress, let target = to.socketAddress else { return nil }
        let family = source.protocol == .inet ? AF_INET : AF_INET6
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var one: CInt = 1
        // Shared only when bound to a given port: bound to port 0 with SO_REUSEPORT, Linux may
        // give several sockets the same port, and their connects to one target then collide.
        if from.port != 0 {
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<CInt>.size))
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<CInt>.size))
        }
        setsockopt(fd, CInt(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<CInt>.size))
        let bound = source.withSockAddr { bind(fd, $0, socklen_t($1)) } == 0
        let started = bound && target.withSockAddr { connect(fd, $0, socklen_t($1)) } != 0 && errno == EINPROGRESS
        guard started else {
            close(fd)
            return nil
        }
        return fd
    }

    /// The socket to keep, removed from the watched ones, if one is known: on the opener's side
    /// the first whose connect completed (once the chosen byte went out on it), on the prober's
    /// the first opened one to bring the chosen byte. Sockets whose connect failed, or that
    /// brought anything else, are closed and dropped.
    private func keep() -> CInt? {
        sockets.withLock { sockets in
            sockets.opened += Self.completed(&sockets.connecting)
            if opener {
                while let fd = sockets.opened.first {
                    sockets.opened.removeFirst()
                    var byte = Self.chosen
                    if send(fd, &byte, 1, Int32(MSG_NOSIGNAL)) == 1 { return fd }
                    close(fd)
                }
                return nil
            }
            var polled = sockets.opened.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            guard !polled.isEmpty, poll(&polled, nfds_t(polled.count), 0) > 0 else { return nil }
            var kept: CInt?
            var dropped = Set<CInt>()
            for entry in polled where entry.revents != 0 && kept == nil {
                var byte: UInt8 = 0
                if recv(entry.fd, &byte, 1, Int32(MSG_DONTWAIT)) == 1, byte == Self.chosen {
                    kept = entry.fd
                } else {
                    dropped.insert(entry.fd)
                }
            }
            for fd in dropped { close(fd) }
            sockets.opened.removeAll { dropped.contains($0) || $0 == kept }
            return kept
        }
    }

    /// Removes from `connecting` and returns the sockets whose connect completed; closes those
    /// whose connect failed.
    private static func completed(_ connecting: inout [CInt]) -> [CInt] {
        var polled = connecting.map { pollfd(fd: $0, events: Int16(POLLOUT), revents: 0) }
        guard !polled.isEmpty, poll(&polled, nfds_t(polled.count), 0) > 0 else { return [] }
        var opened: [CInt] = [], failed = Set<CInt>()
        for entry in polled where entry.revents != 0 {
            var error: CInt = 0
            var length = socklen_t(MemoryLayout<CInt>.size)
            if getsockopt(entry.fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0, error == 0 {
                opened.append(entry.fd)
            } else {
                failed.insert(entry.fd)
            }
        }
        for fd in failed { close(fd) }
        let done = failed.union(opened)
        connecting.removeAll { done.contains($0) }
        return opened
    }

    private func closeAll() {
        sockets.withLock { sockets in
            for fd in sockets.connecting + sockets.opened { close(fd) }
            sockets = Sockets(unsent: [])
        }
    }

    /// Hands the connected socket `fd` to NIO and offers it to `first`.
    private func adopt(_ fd: CInt, on loop: any EventLoop) {
        let first = self.first
        ClientBootstrap(group: loop)
            .channelOption(.autoRead, value: false)
            .withConnectedSocket(fd)
            .flatMap { ByteTransport.initialize($0) }
            .whenComplete { result in
                switch result {
                case .success(let transport): first.offer(transport)
                case .failure: close(fd)
                }
            }
    }
}

