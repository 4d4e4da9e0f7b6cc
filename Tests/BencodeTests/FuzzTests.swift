// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Bencode
import SeededRandom
import Testing

/// Feeds arbitrary bytes to both modes. A crash, trap or hang fails the run; so does a
/// strict decode that does not re-encode to exactly its input.
@Suite("Fuzzing with random and mutated inputs")
struct FuzzTests {
    /// Bytes that bencode is made of, weighted so random inputs often get somewhere.
    static let alphabet = Array("ilde0123456789:-".utf8) + [0x00, 0x78, 0xFF, 0x30, 0x65, 0x65]

    @Test("20,000 random byte strings decode or throw, and strict results are canonical")
    func randomBytes() {
        var rng = SplitMix64(seed: 0xF022_0001)
        var stats = Stats()
        for round in 0..<20_000 {
            let count = Int.random(in: 0...(round.isMultiple(of: 2) ? 8 : 40), using: &rng)
            let input: [UInt8] = (0..<count).map { _ in
                round.isMultiple(of: 4)
                    ? UInt8.random(in: 0...255, using: &rng)
                    : Self.alphabet[Int.random(in: 0..<Self.alphabet.count, using: &rng)]
            }
            check(input, &stats)
        }
        #expect(stats.strictAccepted > 10, "the generator should hit valid inputs sometimes")
        #expect(stats.rejected > 10_000)
    }

    @Test("20,000 mutations of valid encodings decode or throw, and strict results are canonical")
    func mutations() {
        var rng = SplitMix64(seed: 0xF022_0002)
        var stats = Stats()
        for _ in 0..<20_000 {
            let original = RandomValues.value(depth: 3, using: &rng).encoded()
            check(Self.mutate(original, using: &rng), &stats)
        }
        #expect(stats.strictAccepted > 500)
        #expect(stats.rejected > 5_000)
        #expect(stats.lenientOnly > 0, "some mutations should be lenient-only")
    }

    struct Stats {
        var strictAccepted = 0
        var lenientOnly = 0
        var rejected = 0
    }

    private func check(_ input: [UInt8], _ stats: inout Stats, sourceLocation: SourceLocation = #_sourceLocation) {
        var strictValue: BencodeValue?
        do {
            let value = try strictDecoder.decode(input)
            strictValue = value
            stats.strictAccepted += 1
            #expect(value.encoded() == input, "strict decode must be canonical", sourceLocation: sourceLocation)
        } catch {
            #expect(error.offset >= 0 && error.offset <= input.count, sourceLocation: sourceLocation)
            #expect(!error.message.isEmpty, sourceLocation: sourceLocation)
        }
        do {
            let value = try lenientDecoder.decode(input)
            if let strictValue {
                #expect(value == strictValue, sourceLocation: sourceLocation)
            } else {
                stats.lenientOnly += 1
            }
            // Lenient results canonicalise to something strict mode accepts unchanged.
            #expect(try strictDecoder.decode(value.encoded()) == value, sourceLocation: sourceLocation)
        } catch {
            #expect(strictValue == nil, "lenient rejected what strict accepted", sourceLocation: sourceLocation)
            #expect(error.offset >= 0 && error.offset <= input.count, sourceLocation: sourceLocation)
            stats.rejected += 1
        }
    }

    /// One to three bit flips, truncations, insertions, deletions or duplications.
    static func mutate(_ input: [UInt8], using rng: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            let index = Int.random(in: 0...bytes.count, using: &rng)
            switch Int.random(in: 0..<6, using: &rng) {
            case 0 where index < bytes.count:
                bytes[index] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
            case 1:
                bytes.removeSubrange(index...)
            case 2:
                bytes.insert(alphabet[Int.random(in: 0..<alphabet.count, using: &rng)], at: index)
            case 3 where index < bytes.count:
                bytes.remove(at: index)
            case 4:
                let end = Int.random(in: index...bytes.count, using: &rng)
                bytes.insert(contentsOf: bytes[index..<end], at: end)
            default:
                if index < bytes.count { bytes[index] = alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] }
            }
        }
        return bytes
    }
}
