import Kademlia
import Testing

/// xorshift64* (Vigna, 2016), seeded, so the fuzz run is the same every time.
private struct KRPCFuzzRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
}

@Suite("KRPC fuzz")
struct KRPCFuzzTests {
    /// Bytes that matter to bencode and KRPC, so mutations reach deep into the decoder.
    private static let interesting: [UInt8] = Array("0123456789:deil-qrteyav".utf8) + [0, 0xff]

    private static func mutate(_ input: [UInt8], using random: inout KRPCFuzzRandom) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...2, using: &random) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<6, using: &random) {
            case 0 where !bytes.isEmpty: bytes[position] = UInt8.random(in: 0...255, using: &random)
            case 1 where !bytes.isEmpty: bytes[position] = interesting.randomElement(using: &random)!
            case 2: bytes.insert(interesting.randomElement(using: &random)!, at: position)
            case 3 where !bytes.isEmpty: bytes.remove(at: position)
            case 4: bytes = Array(bytes.prefix(position))
            default:  // splice a random slice of the input elsewhere
                guard !bytes.isEmpty else { break }
                let start = Int.random(in: 0..<bytes.count, using: &random)
                let slice = bytes[start..<min(bytes.count, start + Int.random(in: 1...24, using: &random))]
                bytes.insert(contentsOf: slice, at: position)
            }
        }
        return bytes
    }

    @Test("10,000 random and mutated datagrams never crash and only throw KRPCDecodeError")
    func decodeNeverCrashes() throws {
        let seeds = try KRPCVectors.allDatagrams()
        try #require(seeds.count > 50)
        var random = KRPCFuzzRandom(seed: 0x4B52_5043)
        var decoded = 0, rejected = 0, reencoded = 0
        for round in 0..<10_000 {
            let input: [UInt8]
            if round % 10 == 0 {
                input = (0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            } else {
                input = Self.mutate(seeds.randomElement(using: &random)!, using: &random)
            }
            // `decode` is declared `throws(KRPCDecodeError)`, so nothing else can escape.
            do {
                let message = try KRPCMessage.decode(input)
                decoded += 1
                // Whatever decodes re-encodes to something that decodes to the same message.
                let again = try KRPCMessage.decode(message.encoded())
                if again == message { reencoded += 1 } else { Issue.record("re-encoding changed \(input)") }
            } catch {
                rejected += 1
                #expect(!error.message.isEmpty)
            }
        }
        #expect(decoded + rejected == 10_000)
        #expect(decoded > 300 && rejected > 1000, "the mutations exercise both paths: \(decoded) decoded, \(rejected) rejected")
        #expect(reencoded == decoded)
    }
}
