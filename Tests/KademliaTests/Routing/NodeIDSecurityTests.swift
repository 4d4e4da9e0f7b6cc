import Foundation
import Kademlia
import SeededRandom
import Testing

/// `spec/vectors/bep42.json`, found from this file's path.
struct BEP42Vectors: Decodable {
    struct Checksum: Decodable, Sendable { let ascii: String; let crc: String }
    struct Vector: Decodable, Sendable, CustomTestStringConvertible {
        let ip: String
        let rand: UInt8
        let id: String
        var testDescription: String { "\(ip) rand \(rand)" }
    }
    let crc32c: [Checksum]
    let vectors: [Vector]
    let exempt: [String]
    let notExempt: [String]

    enum CodingKeys: String, CodingKey { case crc32c, vectors, exempt, notExempt = "not_exempt" }

    static func load() throws -> BEP42Vectors {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()  // Routing, KademliaTests
            .deletingLastPathComponent().deletingLastPathComponent()  // Tests, package root
            .appendingPathComponent("spec/vectors/bep42.json")
        return try JSONDecoder().decode(BEP42Vectors.self, from: Data(contentsOf: url))
    }
}

@Suite("BEP 42 node id security and CRC32C")
struct NodeIDSecurityTests {
    @Test func theVectorsFileHasTheFivePublishedVectors() throws {
        let file = try BEP42Vectors.load()
        #expect(file.vectors.map(\.ip) == ["124.31.75.21", "21.75.31.124", "65.23.51.170", "84.124.73.14", "43.213.53.83"])
        #expect(!file.crc32c.isEmpty && !file.exempt.isEmpty && !file.notExempt.isEmpty)
    }

    @Test func crc32cKnownAnswers() throws {
        for check in try BEP42Vectors.load().crc32c {
            #expect(String(CRC32C.checksum(Array(check.ascii.utf8)), radix: 16).leftPadded(8) == check.crc, "\(check.ascii)")
        }
        #expect(CRC32C.checksum("123456789".utf8) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)  // RFC 3720 B.4
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
    }

    @Test("published vectors are valid and reproduced", arguments: try BEP42Vectors.load().vectors)
    func publishedVector(_ vector: BEP42Vectors.Vector) throws {
        let address = try #require(Endpoint.parseAddress(vector.ip))
        let id = try #require(NodeID(hex: vector.id))
        #expect(id.bytes[19] == vector.rand)
        #expect(NodeIDSecurity.isValid(id, for: address))
        // Filling the free bits from the example id must give back exactly the example id.
        #expect(NodeIDSecurity.makeID(for: address, rand: vector.rand, filler: id) == id)
        #expect(NodeIDSecurity.makeID(for: address, rand: vector.rand, filler: .zero).hex.prefix(5) == vector.id.prefix(5))
        // Bit 20 (the 21st) is constrained, bit 21 is not; nor are the middle bytes.
        #expect(!NodeIDSecurity.isValid(id ^ NodeID.singleBitForTest(20), for: address))
        #expect(NodeIDSecurity.isValid(id ^ NodeID.singleBitForTest(21), for: address))
        #expect(NodeIDSecurity.isValid(id ^ NodeID.singleBitForTest(100), for: address))
        // Another r (low three bits of the last byte) or another address changes the prefix.
        #expect(!NodeIDSecurity.isValid(id ^ NodeID.singleBitForTest(159), for: address))
        guard case .v4(let ip) = address else { throw VectorError.notIPv4 }
        #expect(!NodeIDSecurity.isValid(id, for: .v4(ip ^ 0x0100_0000)))
        // Bits the mask drops do not matter: 0xfc in the first octet is masked away.
        #expect(NodeIDSecurity.isValid(id, for: .v4(ip ^ 0xFC00_0000)))
    }

    @Test func exemptAddressesAreAlwaysValid() throws {
        let file = try BEP42Vectors.load()
        var random = SplitMix64(seed: 42)
        for text in file.exempt {
            let address = try #require(Endpoint.parseAddress(text))
            #expect(NodeIDSecurity.isExempt(address), "\(text)")
            #expect(NodeIDSecurity.isValid(.random(using: &random), for: address), "\(text)")
        }
        for text in file.notExempt {
            let address = try #require(Endpoint.parseAddress(text))
            #expect(!NodeIDSecurity.isExempt(address), "\(text)")
        }
    }

    @Test func madeIDsAreValidForTheirAddressOnly() throws {
        var random = SplitMix64(seed: 7)
        var rejectedElsewhere = 0
        for round in 0..<500 {
            let address: Endpoint.Address = round % 2 == 0
                ? .v4(UInt32(truncatingIfNeeded: random.next()) | 0x0100_0000)
                : .v6(0x2001_0000_0000_0000 | random.next() >> 16, random.next())
            let id = NodeIDSecurity.makeID(for: address, using: &random)
            #expect(NodeIDSecurity.isValid(id, for: address))
            let elsewhere: Endpoint.Address = .v4(UInt32(truncatingIfNeeded: random.next()) | 0x0100_0000)
            if !NodeIDSecurity.isExempt(elsewhere), !NodeIDSecurity.isValid(id, for: elsewhere) { rejectedElsewhere += 1 }
        }
        // A random other address accepts a given id with probability 2^-21 · 8 per r.
        #expect(rejectedElsewhere >= 495)
    }

    @Test func ipv6UsesOnlyTheHigh64BitsUnderItsMask() throws {
        var random = SplitMix64(seed: 8)
        let address = Endpoint.Address.v6(0x2001_0DB8_1234_5678, 0x1)
        let id = NodeIDSecurity.makeID(for: address, using: &random)
        #expect(NodeIDSecurity.isValid(id, for: .v6(0x2001_0DB8_1234_5678, 0xFFFF_FFFF)))  // low half ignored
        #expect(NodeIDSecurity.isValid(id, for: .v6(0x2001_0DB8_1234_5678 ^ 0x8000_0000_0000_0000, 0)))  // masked bit
        #expect(!NodeIDSecurity.isValid(id, for: .v6(0x2001_0DB8_1234_5678 ^ 1, 0x1)))
    }

    enum VectorError: Error { case notIPv4 }
}

extension NodeID {
    /// The id with only bit `index` set.
    static func singleBitForTest(_ index: Int) -> NodeID {
        NodeID.mask(leadingBits: index + 1) ^ NodeID.mask(leadingBits: index)
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        String(repeating: "0", count: Swift.max(0, width - count)) + self
    }
}
