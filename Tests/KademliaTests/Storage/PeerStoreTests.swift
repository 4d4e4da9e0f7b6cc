import SeededRandom
import Kademlia
import Testing

@Suite("Peer store")
struct PeerStoreTests {
    let t0 = Timestamp.seconds(500)
    let torrent = NodeID(high: 1, middle: 2, low: 3)

    func v4(_ n: UInt32, port: UInt16 = 6881) -> Endpoint { Endpoint(address: storageIPv4(n), port: port) }
    func v6(_ n: UInt64) -> Endpoint { Endpoint(address: .v6(0x2001_0db8_0000_0000, n), port: 6881) }
    func hash(_ n: UInt64) -> NodeID { NodeID(high: n, middle: 0, low: 0) }

    @Test func peersComeBackMostRecentFirstAndByFamily() {
        var store = PeerStore()
        for n: UInt32 in 1...3 { store.announce(infoHash: torrent, peer: v4(n), now: t0 + .seconds(Double(n))) }
        store.announce(infoHash: torrent, peer: v6(1), now: t0)
        store.announce(infoHash: torrent, peer: v4(1), now: t0 + .seconds(10))  // re-announce moves it first
        #expect(store.peers(for: torrent, now: t0 + .seconds(10), family: .v4) == [v4(1), v4(3), v4(2)])
        #expect(store.peers(for: torrent, now: t0 + .seconds(10), limit: 2, family: .v4) == [v4(1), v4(3)])
        #expect(store.peers(for: torrent, now: t0 + .seconds(10), family: .v6) == [v6(1)])
        #expect(store.peers(for: hash(99), now: t0, family: .v4).isEmpty)
        #expect(store.peerCount == 4 && store.infoHashCount == 1)
        #expect(PeerStore.Family(v6(1)) == .v6 && PeerStore.Family(v4(1)) == .v4)
    }

    @Test func peersExpireExactlyAfterTheLifetime() {
        var store = PeerStore()
        let lifetime = store.configuration.peerLifetime
        #expect(lifetime == .seconds(1800))
        store.announce(infoHash: torrent, peer: v4(1), now: t0)
        store.announce(infoHash: torrent, peer: v4(2), now: t0 + .seconds(60))
        store.announce(infoHash: hash(7), peer: v6(1), now: t0)
        #expect(store.peers(for: torrent, now: t0 + (lifetime - .nanoseconds(1)), family: .v4).count == 2)
        #expect(store.peers(for: torrent, now: t0 + lifetime, family: .v4) == [v4(2)])
        let result1 = store.expire(now: t0 + (lifetime - .nanoseconds(1)))
        #expect(result1 == 0)
        let result2 = store.expire(now: t0 + lifetime)
        #expect(result2 == 2)
        #expect(store.infoHashCount == 1 && store.peerCount == 1)
        #expect(store.peers(for: torrent, now: t0 + lifetime, family: .v4) == [v4(2)])
        let result3 = store.expire(now: t0 + lifetime + .seconds(60))
        #expect(result3 == 1)
        #expect(store.infoHashCount == 0 && store.peerCount == 0)
    }

    @Test func perInfoHashBoundDropsNewPeersButRefreshesKnownOnes() {
        var store = PeerStore(configuration: .init(maxPeersPerInfoHash: 3, peerLifetime: .seconds(100)))
        for n: UInt32 in 1...3 { storageExpectTrue(store.announce(infoHash: torrent, peer: v4(n), now: t0)) }
        let result4 = store.announce(infoHash: torrent, peer: v4(4), now: t0)
        #expect(!result4)
        let result5 = store.announce(infoHash: torrent, peer: v4(2), now: t0 + .seconds(50))
        #expect(result5)
        // The bound is per family: IPv6 peers still fit.
        let result6 = store.announce(infoHash: torrent, peer: v6(1), now: t0)
        #expect(result6)
        #expect(store.droppedAnnounces == 1 && store.peerCount == 4)
        // A full list makes room by dropping its expired peers.
        let result7 = store.announce(infoHash: torrent, peer: v4(4), now: t0 + .seconds(100))
        #expect(result7)
        #expect(store.peers(for: torrent, now: t0 + .seconds(100), family: .v4) == [v4(4), v4(2)])
        #expect(store.peerCount == 3)
    }

    @Test func infoHashBoundDropsNewInfoHashes() {
        var store = PeerStore(configuration: .init(maxInfoHashes: 2))
        let result8 = store.announce(infoHash: hash(1), peer: v4(1), now: t0)
        #expect(result8)
        let result9 = store.announce(infoHash: hash(2), peer: v4(1), now: t0 + .seconds(1000))
        #expect(result9)
        let result10 = store.announce(infoHash: hash(3), peer: v4(1), now: t0 + .seconds(1000))
        #expect(!result10)
        let result11 = store.announce(infoHash: hash(1), peer: v4(2), now: t0 + .seconds(1000))
        #expect(result11)
        #expect(store.infoHashCount == 2 && store.droppedAnnounces == 1)
        store.expire(now: t0 + .seconds(2799))  // hash(2) and v4(2) of hash(1) survive
        #expect(store.infoHashCount == 2)
        store.expire(now: t0 + .seconds(2800 + 1000))
        #expect(store.infoHashCount == 0)
        let result12 = store.announce(infoHash: hash(3), peer: v4(1), now: t0 + .seconds(4000))
        #expect(result12)
    }

    @Test func repliesAreBoundedToFitADatagram() {
        var store = PeerStore()
        for n in 0..<60 {
            store.announce(infoHash: torrent, peer: v4(UInt32(n)), now: t0)
            store.announce(infoHash: torrent, peer: v6(UInt64(n)), now: t0)
        }
        #expect(store.peers(for: torrent, now: t0, family: .v4).count == 50)
        #expect(store.peers(for: torrent, now: t0, family: .v6).count == 32)
        #expect(store.peers(for: torrent, now: t0, limit: 100, family: .v4).count == 60)
    }

    @Test func samplesAreDistinctStoredAndReproducible() {
        var store = PeerStore()
        let stored = Set((1...40).map { hash($0) })
        for id in stored { store.announce(infoHash: id, peer: v4(1), now: t0) }
        for count in [0, 1, 20, 40, 60] {
            var rng = StorageTestRNG(seed: 11)
            let sample = store.sample(count: count, using: &rng)
            #expect(sample.count == min(count, 40))
            #expect(Set(sample).count == sample.count)
            #expect(Set(sample).isSubset(of: stored))
            var again = StorageTestRNG(seed: 11)
            #expect(store.sample(count: count, using: &again) == sample)
        }
        var rng = StorageTestRNG(seed: 3)
        #expect(store.sample(count: -5, using: &rng).isEmpty)
        // Every info-hash gets picked eventually (the choice is not stuck on a few).
        var seen = Set<NodeID>()
        for _ in 0..<400 { seen.formUnion(store.sample(count: 1, using: &rng)) }
        #expect(seen == stored)
    }

    @Test func removingInfoHashesKeepsTheOthersReachable() {
        var store = PeerStore()
        for n in 1...30 { store.announce(infoHash: hash(UInt64(n)), peer: v4(UInt32(n)), now: t0 + .seconds(Double(n % 2 == 0 ? 0 : 1000))) }
        store.expire(now: t0 + .seconds(1800))
        #expect(store.infoHashCount == 15)
        for n in stride(from: 1, through: 29, by: 2) {
            #expect(store.peers(for: hash(UInt64(n)), now: t0 + .seconds(1800), family: .v4) == [v4(UInt32(n))])
        }
        var rng = StorageTestRNG(seed: 5)
        #expect(Set(store.sample(count: 30, using: &rng)) == Set(stride(from: 1, through: 29, by: 2).map { hash(UInt64($0)) }))
    }
}
