// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Bencode
import SeededRandom
import Testing

/// `dictionaryEntries` must accept and reject exactly what `decodeDictionaryWithRawValues`
/// does, with the same errors, and locate the same keys and values.
@Suite("Dictionary entries without decoding")
struct EntryScanTests {
    @Test("mutated dictionaries: same verdict, error and entries as the decoding reader")
    func mutatedDictionaries() {
        var rng = SplitMix64(seed: 0xE17_0001)
        var accepted = 0
        for round in 0..<20_000 {
            var entries: [(String, BencodeValue)] = []
            for index in 0..<Int.random(in: 0...5, using: &rng) {
                entries.append(("k\(index)", RandomValues.value(depth: 3, using: &rng)))
            }
            let original = BencodeValue.dictionary(Dictionary(entries.map { (Array($0.0.utf8), $0.1) }) { $1 }).encoded()
            let input = round.isMultiple(of: 5) ? original : FuzzTests.mutate(original, using: &rng)
            for decoder in [strictDecoder, lenientDecoder, BencodeDecoder(mode: .lenient, maxDepth: 2, maxLength: 64)] {
                if compare(input, decoder) { accepted += 1 }
            }
        }
        #expect(accepted > 10_000)
    }

    @Test("a range inside a larger input reports offsets into that input")
    func subrange() throws {
        let input = Array("xxd1:ai1e1:bd1:ci2eeeyy".utf8)
        let entries = try lenientDecoder.dictionaryEntries(in: input, range: 2..<(input.count - 2))
        #expect(entries.map(\.key) == [5..<6, 11..<12])
        #expect(entries.map(\.value) == [6..<9, 12..<20])
        #expect(throws: BencodeError.self) { try lenientDecoder.dictionaryEntries(in: input, range: 2..<(input.count - 1)) }
    }

    /// Whether both accepted; records a failure if they disagree.
    private func compare(_ input: [UInt8], _ decoder: BencodeDecoder) -> Bool {
        // Decoding a located value cannot fail: it was checked with the whole input.
        let expected = Result { () throws(BencodeError) in try decoder.decodeDictionaryWithRawValues(input) }
        let scanned = Result { () throws(BencodeError) in try decoder.dictionaryEntries(in: input) }
        switch (expected, scanned) {
        case (.success(let (value, raw)), .success(let entries)):
            var last: [[UInt8]: Range<Int>] = [:]
            for entry in entries { last[Array(input[entry.key])] = entry.value }
            #expect(last == raw, "\(input)")
            for (key, range) in last {
                #expect((try? decoder.decode(input[range])) == value.dictionary?[key], "\(input)")
            }
            return true
        case (.failure(let error), .failure(let scanError)):
            #expect(error == scanError, "\(input)")
        default:
            Issue.record("verdicts differ on \(input): \(expected) vs \(scanned)")
        }
        return false
    }
}
