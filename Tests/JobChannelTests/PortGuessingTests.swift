// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
@testable import JobChannel
import Glibc
import NIOCore
import Testing

/// The port-guessing punch (spec 0021 §6.2): who guesses, and how both sides keep the same one of
/// the connections that open. Across real NATs it runs in the NAT lab (`NATLabTests`).
@Suite struct PortGuessingTests {
    static func endpoint(_ text: String) -> WireEndpoint {
        let parts = text.split(separator: ":")
        return WireEndpoint(host: String(parts[0]), port: Int(parts[1])!)!
    }

    /// One case: this side's local endpoint, the rendezvous it got (`theirsLocal` empty when
    /// unknown), and what it should do.
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String, local: String, mine: String, theirs: String, theirsLocal: String
        let expected: HolePunch.Guessing
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        // A borrower behind a symmetric NAT (port 40001 seen for local 51000) and a lender behind
        // a NAT that keeps its port 6891, from either side.
        Case(name: "behind the router that changes ports", local: "10.0.2.2:51000", mine: "203.0.113.30:40001",
             theirs: "203.0.113.20:6891", theirsLocal: "10.0.1.2:6891", expected: .openMany),
        Case(name: "behind the router that keeps ports", local: "10.0.1.2:6891", mine: "203.0.113.20:6891",
             theirs: "203.0.113.30:40001", theirsLocal: "10.0.2.2:51000", expected: .probe),
        Case(name: "both keep ports: the plain punch", local: "10.0.1.2:6891", mine: "203.0.113.20:6891",
             theirs: "203.0.113.80:6891", theirsLocal: "10.0.7.2:6891", expected: .none),
        Case(name: "both change ports: the relay stays", local: "10.0.2.2:51000", mine: "203.0.113.30:40001",
             theirs: "203.0.113.60:33000", theirsLocal: "10.0.5.2:51002", expected: .none),
        // A public side needs no guess: its listener takes the other's SYN from any port.
        Case(name: "this side public", local: "203.0.113.11:6891", mine: "203.0.113.11:6891",
             theirs: "203.0.113.30:40001", theirsLocal: "10.0.2.2:51000", expected: .none),
        Case(name: "the other side public", local: "10.0.2.2:51000", mine: "203.0.113.30:40001",
             theirs: "203.0.113.11:6891", theirsLocal: "203.0.113.11:6891", expected: .none),
        Case(name: "one router: the LAN joins them", local: "10.0.2.2:51000", mine: "203.0.113.30:40001",
             theirs: "203.0.113.30:40002", theirsLocal: "10.0.2.3:6891", expected: .none),
        Case(name: "the other side's local endpoint unknown", local: "10.0.1.2:6891", mine: "203.0.113.20:6891",
             theirs: "203.0.113.30:40001", theirsLocal: "", expected: .none),
    ]

    @Test(arguments: cases) func theSideWhoseRouterChangesPortsOpensManyAndTheOtherProbes(_ c: Case) {
        let rendezvous = RelayWire.Rendezvous(mine: Self.endpoint(c.mine), theirs: Self.endpoint(c.theirs),
                                              theirsLocal: c.theirsLocal.isEmpty ? nil : Self.endpoint(c.theirsLocal))
        #expect(HolePunch.guessing(local: Self.endpoint(c.local), rendezvous: rendezvous) == c.expected)
        #expect(HolePunch.guessing(local: nil, rendezvous: rendezvous) == .none, "no local endpoint: nothing to compare")
    }

    @Test func probedPortsAreDistinctAndAvoidTheOneTriedPlainly() {
        let ports = HolePunch.randomPorts(HolePunch.guessingProbes, excluding: 40001)
        #expect(ports.count == HolePunch.guessingProbes)
        #expect(Set(ports).count == ports.count)
        #expect(ports.allSatisfy { (1024...65535).contains($0) && $0 != 40001 })
    }

    /// The prober keeps the connection that brings the chosen byte, not the first that opened,
    /// and closes the others; the byte is consumed, what follows it is not.
    @Test func theProberKeepsTheConnectionThatBringsTheChosenByte() async throws {
        let listeners = try (0..<3).map { _ in try RawSocket.listener() }
        defer { listeners.forEach { close($0.fd) } }
        let anchor = try RawSocket.listener(shared: true)  // holds the prober's port, as its relayed connection does
        defer { close(anchor.fd) }
        let from = WireEndpoint(host: "127.0.0.1", port: anchor.port)!
        let first = FirstConnection()
        SocketSpray.start(listeners.map { (from, WireEndpoint(host: "127.0.0.1", port: $0.port)!) }, opener: false,
                          deadline: ContinuousClock.now + .seconds(10), first: first)
        let accepted = try listeners.map { try RawSocket.accept($0.fd, within: .seconds(10)) }
        defer { accepted.forEach { close($0) } }
        // The first opened brings another byte, the second the chosen one and then data.
        #expect(RawSocket.send(accepted[0], [0x02]))
        #expect(RawSocket.send(accepted[1], [SocketSpray.chosen, 0x41, 0x42]))
        let kept = try #require(await first.value)
        #expect(kept.channel.remoteAddress?.port == listeners[1].port)
        let data = try #require(try await kept.read())
        #expect(Array(data.readableBytesView) == [0x41, 0x42])
        #expect(RawSocket.readsEnd(accepted[0], within: .seconds(10)), "a connection not chosen is closed")
        #expect(RawSocket.readsEnd(accepted[2], within: .seconds(10)))
        await kept.close()
    }

    /// The opener keeps the first connection that opens and sends the chosen byte on it alone.
    @Test func theOpenerSendsTheChosenByteOnTheOneItKeeps() async throws {
        let listener = try RawSocket.listener()
        defer { close(listener.fd) }
        let first = FirstConnection()
        let attempts = Array(repeating: (WireEndpoint(host: "127.0.0.1", port: 0)!, WireEndpoint(host: "127.0.0.1", port: listener.port)!), count: 4)
        SocketSpray.start(attempts, opener: true, deadline: ContinuousClock.now + .seconds(10), first: first)
        let kept = try #require(await first.value)
        var chosen = 0, ended = 0
        for _ in 0..<4 {
            let fd = try RawSocket.accept(listener.fd, within: .seconds(10))
            defer { close(fd) }
            switch RawSocket.firstByte(fd, within: .seconds(10)) {
            case SocketSpray.chosen?: chosen += 1
            case nil: ended += 1
            default: break
            }
        }
        #expect(chosen == 1 && ended == 3, "chosen \(chosen), ended \(ended)")
        await kept.close()
    }
}

/// Blocking loopback sockets for the tests, each wait bounded.
enum RawSocket {
    struct Listener {
        let fd: CInt
        let port: Int
    }

    static func listener(shared: Bool = false) throws -> Listener {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: CInt = 1
        if shared { setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<CInt>.size)) }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<CInt>.size))
        let bound = try SocketAddress(ipAddress: "127.0.0.1", port: 0).withSockAddr { bind(fd, $0, socklen_t($1)) } == 0
        // The port from getsockname, read from the raw sockaddr_in (bytes 2-3, network order).
        var raw = [UInt8](repeating: 0, count: 128)
        var length = socklen_t(raw.count)
        let named = raw.withUnsafeMutableBytes { getsockname(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), &length) } == 0
        guard bound, named, listen(fd, 16) == 0 else { throw ChannelError(.io, "cannot listen on loopback") }
        return Listener(fd: fd, port: Int(raw[2]) << 8 | Int(raw[3]))
    }

    static func wait(_ fd: CInt, for events: Int16, within: Duration) -> Bool {
        var entry = pollfd(fd: fd, events: events, revents: 0)
        let (seconds, attoseconds) = within.components
        return poll(&entry, 1, Int32(seconds * 1000 + attoseconds / 1_000_000_000_000_000)) == 1
    }

    static func accept(_ fd: CInt, within: Duration) throws -> CInt {
        guard wait(fd, for: Int16(POLLIN), within: within) else { throw ChannelError(.timedOut, "no connection came") }
        return Glibc.accept(fd, nil, nil)
    }

    static func send(_ fd: CInt, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// The first byte read, or `nil` when the peer closed first (or nothing came in time).
    static func firstByte(_ fd: CInt, within: Duration) -> UInt8? {
        guard wait(fd, for: Int16(POLLIN), within: within) else { return nil }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, 0) == 1 ? byte : nil
    }

    /// Whether the peer closes the connection (after whatever it sent) within `within`.
    static func readsEnd(_ fd: CInt, within: Duration) -> Bool {
        let deadline = ContinuousClock.now + within
        var buffer = [UInt8](repeating: 0, count: 64)
        while ContinuousClock.now < deadline {
            guard wait(fd, for: Int16(POLLIN), within: deadline - ContinuousClock.now) else { return false }
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { return true }
        }
        return false
    }
}
