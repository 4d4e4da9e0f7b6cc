import PotluckCrypto
@testable import JobChannel
import NIOCore
import Testing

/// The gate's rule (`spec/0015-job-channel.md` §3.1), sans-I/O.
@Suite("connection gate")
struct ConnectionGateTests {
    @Test func overTheAddressCapTheOldestPendingConnectionOfThatAddressMakesRoom() {
        var gate = ConnectionGate(limits: .init(total: 10, perAddress: 2))
        #expect(gate.arrive(1, from: "a") == .enter)
        #expect(gate.arrive(2, from: "b") == .enter)
        #expect(gate.arrive(3, from: "a") == .enter)
        #expect(gate.arrive(4, from: "a") == .enterEvicting(1))
        gate.admit(3)
        #expect(gate.arrive(5, from: "a") == .enterEvicting(4))
        #expect(gate.count == 3)
    }

    @Test func admittedConnectionsAreNeverEvictedAndANewcomerIsRefusedInstead() {
        var gate = ConnectionGate(limits: .init(total: 10, perAddress: 2))
        _ = gate.arrive(1, from: "a")
        _ = gate.arrive(2, from: "a")
        gate.admit(1)
        gate.admit(2)
        guard case .refuse(let reason) = gate.arrive(3, from: "a") else {
            Issue.record("a third connection from a was not refused")
            return
        }
        #expect(reason.contains("2 connections from a"))
        #expect(gate.arrive(4, from: "b") == .enter)  // another address is not affected
        gate.leave(1)
        #expect(gate.arrive(5, from: "a") == .enter)
    }

    @Test func overTheTotalCapTheOldestPendingConnectionAnywhereMakesRoom() {
        var gate = ConnectionGate(limits: .init(total: 3, perAddress: 3))
        _ = gate.arrive(1, from: "a")
        _ = gate.arrive(2, from: "b")
        _ = gate.arrive(3, from: "c")
        gate.admit(1)
        #expect(gate.arrive(4, from: "d") == .enterEvicting(2))
        gate.admit(3)
        gate.admit(4)
        #expect(gate.arrive(5, from: "e") == .refuse("all 3 connections are running jobs here"))
    }

    @Test func ipv6AddressesCountByTheir64Prefix() throws {
        let one = try SocketAddress(ipAddress: "2001:db8:1:2:aaaa::1", port: 1)
        let two = try SocketAddress(ipAddress: "2001:db8:1:2:bbbb::9", port: 2)
        let other = try SocketAddress(ipAddress: "2001:db8:1:3::1", port: 1)
        #expect(JobChannelServer.addressKey(one) == JobChannelServer.addressKey(two))
        #expect(JobChannelServer.addressKey(one) != JobChannelServer.addressKey(other))
        #expect(JobChannelServer.addressKey(try SocketAddress(ipAddress: "::ffff:192.0.2.7", port: 1)) == "192.0.2.7")
        #expect(JobChannelServer.addressKey(try SocketAddress(ipAddress: "192.0.2.7", port: 1)) == "192.0.2.7")
    }
}

/// The server's limits on real TCP (`spec/0015` §3.1, §5.1).
@Suite("job channel admission over loopback TCP", .timeLimit(.minutes(1)))
struct AdmissionTests {
    let server = key(Seeds.server), client = key(Seeds.client)

    @Test func aFrameOverThePreAdmissionLimitEndsTheConnectionWithAReason() async throws {
        let failure = Shared<JobChannel.ChannelError?>(nil)
        try await withServer(identity: server, handler: { connection in
            #expect(connection.incomingFrameLimit == JobChannelServer.preAdmissionFrameBytes)
            do { _ = try await connection.receive() } catch let error as JobChannel.ChannelError { failure.update { $0 = error } } catch {}
        }) { listener in
            let connection = try await JobChannelClient.connect(host: "127.0.0.1", port: listener.port, identity: client,
                                                                 expecting: server.publicKey)
            try await connection.send([UInt8](repeating: 7, count: JobChannelServer.preAdmissionFrameBytes + 1))
            #expect(await eventually { failure.current != nil })
            #expect(failure.current?.code == .frameTooLarge)
            #expect(failure.current?.message.contains("before its job is admitted") == true)
            // The server closed (cleanly, or by reset when the refused frame's bytes were unread).
            #expect((try? await connection.receive()) == nil)
        }
    }

    @Test func aMessageAtThePreAdmissionLimitPassesAndAdmissionRaisesTheLimit() async throws {
        try await withServer(identity: server, handler: { connection in
            guard let first = try? await connection.receive() else { return }
            connection.admit(frameLimit: 1 << 20)
            guard let second = try? await connection.receive() else { return }
            try? await connection.send(Array("\(first.count) \(second.count)".utf8))
        }) { listener in
            let connection = try await JobChannelClient.connect(host: "127.0.0.1", port: listener.port, identity: client,
                                                                 expecting: server.publicKey)
            try await connection.send([UInt8](repeating: 1, count: JobChannelServer.preAdmissionFrameBytes))
            try await connection.send([UInt8](repeating: 2, count: 1 << 20))
            let answer = try await connection.receive().map { String(decoding: $0, as: UTF8.self) }
            #expect(answer == "\(JobChannelServer.preAdmissionFrameBytes) \(1 << 20)")
            await connection.close()
        }
    }

    @Test func idleConnectionsFromOneAddressLoseTheirPlaceToABorrower() async throws {
        var limits = JobChannelServer.Limits()
        limits.connectionsPerAddress = 3
        try await withServer(identity: server, limits: limits, handler: { connection in
            connection.admit(frameLimit: 1024)
            while let message = try? await connection.receive() { try? await connection.send(message) }
        }) { listener in
            // Three connections that never say anything hold every place of 127.0.0.1.
            var idle: [ByteTransport] = []
            for _ in 0..<3 { idle.append(try await ByteTransport.connect(host: "127.0.0.1", port: listener.port, timeout: .seconds(5))) }
            #expect(await eventually { listener.statistics.open == 3 })
            let connection = try await JobChannelClient.connect(host: "127.0.0.1", port: listener.port, identity: client,
                                                                 expecting: server.publicKey)
            try await connection.send([42])
            #expect(try await connection.receive() == [42])
            #expect(listener.statistics.evictedConnections == 1)
            #expect(try await idle[0].read() == nil)  // the oldest idle one was dropped
            // Two borrowers admitted beside it: every place is a running job, so a fourth is refused.
            var admitted = [connection]
            for _ in 0..<2 {
                let another = try await JobChannelClient.connect(host: "127.0.0.1", port: listener.port, identity: client,
                                                                  expecting: server.publicKey)
                try await another.send([1])
                _ = try await another.receive()
                admitted.append(another)
            }
            #expect(listener.statistics.evictedConnections == 3)
            await #expect(throws: JobChannel.ChannelError.self) {
                _ = try await JobChannelClient.connect(host: "127.0.0.1", port: listener.port, identity: client, expecting: server.publicKey)
            }
            #expect(listener.statistics.refusedConnections == 1)
            #expect(listener.statistics.lastRefusal?.contains("3 connections from 127.0.0.1") == true)
            for connection in admitted { await connection.close() }
            for transport in idle { await transport.close() }
        }
    }

    @Test func overTheTotalCapIdleConnectionsFromManyAddressesGiveWay() async throws {
        var limits = JobChannelServer.Limits()
        limits.connections = 4
        try await withServer(identity: server, limits: limits, handler: { connection in
            connection.admit(frameLimit: 1024)
            while let message = try? await connection.receive() { try? await connection.send(message) }
        }) { listener in
            var idle: [ByteTransport] = []
            for host in 2...5 {
                idle.append(try await ByteTransport.connect(host: "127.0.0.1", port: listener.port, timeout: .seconds(5), source: "127.0.0.\(host)"))
            }
            #expect(await eventually { listener.statistics.open == 4 })
            let connection = try await JobChannelClient.connect(host: "127.0.0.1", port: listener.port, identity: client,
                                                                 expecting: server.publicKey, source: "127.0.0.9")
            try await connection.send([7])
            #expect(try await connection.receive() == [7])
            #expect(listener.statistics.evictedConnections == 1)
            #expect(listener.statistics.open == 4)
            await connection.close()
            for transport in idle { await transport.close() }
        }
    }

    @Test func aPeerTheServerVouchesForIsNeverPushedOutByStrangers() async throws {
        var limits = JobChannelServer.Limits()
        limits.connectionsPerAddress = 2
        let friend = client.publicKey
        let server = try await JobChannelServer.bind(host: "127.0.0.1", port: 0, identity: server, limits: limits,
                                                     vouched: { $0 == friend }) { connection in
            // Says nothing until the peer does: a friend's connection stays pending as far as its job goes.
            guard let message = try? await connection.receive() else { return }
            connection.admit(frameLimit: 1024)
            try? await connection.send(message)
        }
        let running = Task { try await server.run() }
        defer { running.cancel() }
        let connection = try await JobChannelClient.connect(host: "127.0.0.1", port: server.port, identity: client,
                                                             expecting: self.server.publicKey)
        #expect(await eventually { server.statistics.established == 1 })
        // Strangers' idle connections from the same address come and push each other out, never the friend's.
        var idle: [ByteTransport] = []
        for _ in 0..<4 { idle.append(try await ByteTransport.connect(host: "127.0.0.1", port: server.port, timeout: .seconds(5))) }
        #expect(await eventually { server.statistics.evictedConnections == 3 })
        try await connection.send([5])
        #expect(try await connection.receive() == [5])
        await connection.close()
        for transport in idle { await transport.close() }
        await server.close()
    }
}
