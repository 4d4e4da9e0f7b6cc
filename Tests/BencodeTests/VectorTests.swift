// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Bencode
import Testing

@Suite("Test vectors (spec/vectors/bencode.json)")
struct VectorTests {
    static let classics = [
        "i42e", "i-42e", "i0e", "4:spam", "0:", "l4:spami42ee", "d3:bar4:spam3:fooi42ee",
        "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe",
        "i03e", "i-0e", "ie", "i1", "03:abc", "5:abc", "d3:foo1:a3:bar1:be",
        "d3:foo1:a3:foo1:be", "di1e1:ae", String(repeating: "l", count: 100), "i1ei2e",
        "i9223372036854775808e", "x",
    ]

    @Test("the vectors file has the classic cases")
    func fileIsComplete() throws {
        let valid = try Vectors.valid()
        let invalid = try Vectors.invalid()
        #expect(valid.count >= 20)
        #expect(invalid.count >= 30)
        let inputs = Set(valid.map(\.input) + invalid.map(\.input))
        for classic in Self.classics {
            #expect(inputs.contains(Array(classic.utf8)), "missing \(classic)")
        }
        #expect(Set(valid.map(\.name)).count == valid.count, "duplicate valid names")
        #expect(Set(invalid.map(\.name)).count == invalid.count, "duplicate invalid names")
    }

    @Test("valid vectors decode to the expected value", arguments: try Vectors.valid())
    func valid(_ vector: ValidVector) throws {
        let lenient = try lenientDecoder.decode(vector.input)
        #expect(lenient == vector.expected)
        if vector.strictAccepts {
            let strict = try strictDecoder.decode(vector.input)
            #expect(strict == vector.expected)
        } else {
            #expect(throws: BencodeError.self) { try strictDecoder.decode(vector.input) }
        }
        #expect((vector.expected.encoded() == vector.input) == vector.canonical)
        // Whatever was accepted canonicalises to something strict mode accepts.
        #expect(try strictDecoder.decode(vector.expected.encoded()) == vector.expected)
    }

    @Test("invalid vectors fail with the expected code and offset", arguments: try Vectors.invalid())
    func invalid(_ vector: InvalidVector) throws {
        let strict = try #require(decodingError(strictDecoder, vector.input))
        #expect(strict.code == vector.code)
        #expect(strict.offset == vector.offset)
        #expect(strict.description == "bencode: \(strict.message) at byte \(vector.offset)")
        if vector.lenientRejects {
            let lenient = try #require(decodingError(lenientDecoder, vector.input))
            #expect(lenient.code == vector.code)
            #expect(lenient.offset == vector.offset)
        } else {
            #expect(throws: Never.self) { try lenientDecoder.decode(vector.input) }
        }
    }
}
