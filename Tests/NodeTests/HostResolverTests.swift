import Kademlia
@testable import Node
import Testing

/// `--bootstrap` text: names and addresses, through the system resolver (issue 17).
@Suite struct HostResolverTests {
    @Test func theShapeIsCheckedBeforeAnyLookup() {
        for good in ["127.0.0.1:6891", "[::1]:6891", "localhost:6891", "node-1.example.org:80"] {
            #expect(HostResolver.isHostAndPort(good), "\(good)")
        }
        for bad in ["localhost", "localhost:", "localhost:99999", "a b:1", ":6891", "[::1]6891", "host/x:1"] {
            #expect(!HostResolver.isHostAndPort(bad), "\(bad)")
        }
    }

    @Test func namesResolveThroughTheSystemAndFailuresSayWhy() async throws {
        let local = try await HostResolver.resolve("localhost:6891", family: .v4).get()
        #expect(local.contains(Endpoint("127.0.0.1:6891")!), "\(local)")
        #expect(try await HostResolver.resolve("[::1]:7", family: .any).get() == [Endpoint("[::1]:7")!], "addresses skip the resolver")
        guard case .failure(let error) = await HostResolver.resolve("no-such-host.invalid:1") else {
            Issue.record("a name under .invalid resolved")
            return
        }
        #expect(error.description.hasPrefix("cannot resolve 'no-such-host.invalid': "), "\(error)")
        #expect(await HostResolver.resolveAll(["no-such-host.invalid:1", "127.0.0.1:5", "127.0.0.1:5"]) == [Endpoint("127.0.0.1:5")!])
    }

    /// `localhost` may resolve to `::1` as well: a node bootstraps through the addresses of the
    /// families it listens on, and says so when none is left.
    @Test func bootstrapKeepsTheAddressesThisNodeCanReach() throws {
        let found = [try #require(Endpoint("[::1]:6891")), try #require(Endpoint("127.0.0.1:6891"))]
        #expect(try Bootstrapper.reachable(found, host: "localhost:6891", families: [.v4]).get() == [found[1]])
        #expect(try Bootstrapper.reachable(found, host: "localhost:6891", families: [.v4, .v6]).get() == found)
        guard case .failure(let error) = Bootstrapper.reachable([found[0]], host: "v6only:6891", families: [.v4]) else {
            Issue.record("an IPv6-only name was kept for an IPv4-only node")
            return
        }
        #expect(error.description.contains("v6only:6891 resolves only to IPv6 addresses"))
    }
}
