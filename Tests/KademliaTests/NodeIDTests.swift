import Kademlia
import SeededRandom
import Testing

@Suite("NodeID and Endpoint")
struct NodeIDTests {
    @Test func bytesHexAndOrderRoundTrip() throws {
        let bytes = (1...20).map { UInt8($0) }
        let id = try #require(NodeID(bytes: bytes))
        #expect(id.bytes == bytes)
        #expect(id.hex == "0102030405060708090a0b0c0d0e0f1011121314")
        #expect(NodeID(hex: id.hex) == id)
        #expect(NodeID(bytes: bytes.dropLast()) == nil)
        #expect(NodeID(hex: "zz") == nil)
        #expect(NodeID.zero < id && id < NodeID.max)
    }

    @Test func xorMetricProperties() {
        var random = SplitMix64(seed: 42)
        for _ in 0..<2000 {
            let a = NodeID.random(using: &random), b = NodeID.random(using: &random), c = NodeID.random(using: &random)
            #expect(a ^ a == .zero)
            #expect(a ^ b == b ^ a)
            #expect((a ^ b) ^ (b ^ c) == a ^ c)  // so d(a,c) ≤ d(a,b) ⊕ d(b,c) holds bitwise
            #expect(a.commonPrefixLength(with: b) == (a ^ b).leadingZeroBitCount)
            // Byte order equals numeric order.
            #expect((a < b) == a.bytes.lexicographicallyPrecedes(b.bytes))
        }
    }

    @Test func randomIDInBucketSharesExactlyThePrefix() {
        var random = SplitMix64(seed: 7)
        let me = NodeID.random(using: &random)
        for prefix in 0..<160 {
            let other = me.randomID(sharingPrefix: prefix, using: &random)
            #expect(me.commonPrefixLength(with: other) == prefix)
        }
    }

    @Test func masks() {
        #expect(NodeID.mask(leadingBits: 0) == .zero)
        #expect(NodeID.mask(leadingBits: 160) == .max)
        #expect(NodeID.mask(leadingBits: 1).hex == "8000000000000000000000000000000000000000")
        #expect(NodeID.mask(leadingBits: 130).hex == "ffffffffffffffffffffffffffffffffc0000000")
    }

    @Test func endpointsParsePrintAndEncodeCompactly() throws {
        let v4 = try #require(Endpoint("127.0.0.1:6881"))
        #expect(v4.compact == [127, 0, 0, 1, 0x1a, 0xe1])
        #expect(Endpoint(compact: v4.compact) == v4)
        #expect(v4.description == "127.0.0.1:6881")
        let v6 = try #require(Endpoint("[::1]:53"))
        #expect(v6.compact.count == 18)
        #expect(Endpoint(compact: v6.compact) == v6)
        #expect(v6.description == "[::1]:53")
        #expect(Endpoint("[2001:db8::ff00:42:8329]:1")?.description == "[2001:db8::ff00:42:8329]:1")
        for bad in ["127.0.0.1", "256.0.0.1:1", "1.2.3:4", "[::1:1", "[1::2::3]:4", "host:80", "1.2.3.4:70000"] {
            #expect(Endpoint(bad) == nil, "\(bad)")
        }
        #expect(Endpoint(compact: [1, 2, 3]) == nil)
    }
}
