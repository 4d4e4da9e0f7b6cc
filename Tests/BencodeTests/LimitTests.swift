// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Bencode
import Testing

@Suite("Limits, prefixes, raw ranges and lenient mode")
struct LimitTests {
    @Test("a million 'l' bytes throw tooDeep at the first byte past maxDepth")
    func millionLists() throws {
        let input = [UInt8](repeating: 0x6C, count: 1_000_000)
        for decoder in [strictDecoder, lenientDecoder] {
            let error = try #require(decodingError(decoder, input))
            #expect(error.code == .tooDeep)
            #expect(error.offset == 32)
        }
        var deep = BencodeDecoder()
        deep.maxDepth = 10_000
        let error = try #require(decodingError(deep, input))
        #expect(error.code == .tooDeep)
        #expect(error.offset == 10_000)
    }

    @Test("a million 'l' bytes with no depth limit end in unexpectedEnd, not a crash")
    func millionListsUnbounded() throws {
        var decoder = BencodeDecoder()
        decoder.maxDepth = .max
        let error = try #require(decodingError(decoder, [UInt8](repeating: 0x6C, count: 1_000_000)))
        #expect(error.code == .unexpectedEnd)
        #expect(error.offset == 1_000_000)
    }

    @Test("huge claimed string lengths throw before allocating")
    func hugeClaimedLength() throws {
        let input = Array("99999999999:".utf8)
        let error = try #require(decodingError(strictDecoder, input))
        #expect(error.code == .stringTooLong)
        #expect(error.offset == 0)
        var unlimited = BencodeDecoder(maxLength: .max)
        unlimited.maxStringLength = .max
        let truncated = try #require(decodingError(unlimited, input + Array("abc".utf8)))
        #expect(truncated.code == .unexpectedEnd)
        #expect(truncated.offset == 15)
        let overflow = try #require(decodingError(unlimited, Array("99999999999999999999999:x".utf8)))
        #expect(overflow.code == .stringTooLong)
    }

    @Test("maxLength and maxStringLength are enforced")
    func lengthLimits() throws {
        let decoder = BencodeDecoder(maxLength: 8)
        #expect(try decoder.decode(Array("6:abcdef".utf8)) == "abcdef")
        let long = try #require(decodingError(decoder, Array("7:abcdefg".utf8)))
        #expect(long.code == .tooLong)
        #expect(long.offset == 8)
        var short = BencodeDecoder()
        short.maxStringLength = 3
        #expect(try short.decode(Array("3:abc".utf8)) == "abc")
        let tooLong = try #require(decodingError(short, Array("l3:abc4:abcde".utf8)))
        #expect(tooLong.code == .stringTooLong)
        #expect(tooLong.offset == 6)
    }

    @Test("decode accepts any collection of bytes")
    func collections() throws {
        let bytes = Array("xxl4:spami42eexx".utf8)
        #expect(try strictDecoder.decode(bytes[2..<14]) == ["spam", 42])
        #expect(try strictDecoder.decode(AnyCollection(bytes[2..<14])) == ["spam", 42])
        let error = try #require(throws: BencodeError.self) {
            try strictDecoder.decode(AnyCollection(bytes[2..<15]))
        }
        #expect(error.code == .trailingBytes && error.offset == 12)
    }

    @Test("decodePrefix leaves the rest of the input alone")
    func prefix() throws {
        let stream = Array("d1:ai1eei42e4:spam".utf8)
        let first = try strictDecoder.decodePrefix(stream)
        #expect(first.value == ["a": 1])
        #expect(first.consumed == 8)
        let second = try strictDecoder.decodePrefix(Array(stream[8...]))
        #expect(second.value == 42 && second.consumed == 4)
        let error = try #require(throws: BencodeError.self) {
            try strictDecoder.decodePrefix(Array("l4:spa".utf8))
        }
        #expect(error.code == .unexpectedEnd)
        let small = BencodeDecoder(maxLength: 4)
        #expect(try small.decodePrefix(Array("i1ei2222e".utf8)).consumed == 3)
        let tooLong = try #require(throws: BencodeError.self) {
            try small.decodePrefix(Array("i2222ei1e".utf8))
        }
        #expect(tooLong.code == .tooLong && tooLong.offset == 4)
    }

    @Test("raw ranges of top-level dictionary values are exact")
    func rawRanges() throws {
        let input = Array("d1:ai-7e1:vd3:seqi1e1:xl1:yee1:zlee".utf8)
        let (value, raw) = try strictDecoder.decodeDictionaryWithRawValues(input)
        #expect(value == ["a": -7, "v": ["seq": 1, "x": ["y"]], "z": []])
        #expect(raw.count == 3)
        let v = try #require(raw[Array("v".utf8)])
        #expect(Array(input[v]) == Array("d3:seqi1e1:xl1:yee".utf8))
        #expect(raw[Array("a".utf8)] == 4..<8)
        #expect(raw[Array("z".utf8)].map { Array(input[$0]) } == Array("le".utf8))
        // Lenient: the bytes as received, not a re-encoding, and the last duplicate wins.
        let odd = Array("d1:vi007e1:ai1e1:vi08ee".utf8)
        let lenient = try lenientDecoder.decodeDictionaryWithRawValues(odd)
        #expect(lenient.value == ["a": 1, "v": 8])
        #expect(lenient.raw[Array("v".utf8)].map { Array(odd[$0]) } == Array("i08e".utf8))
    }

    @Test("decodeDictionaryWithRawValues rejects non-dictionaries and trailing bytes")
    func rawRangesErrors() throws {
        let cases: [(String, BencodeError.Code, Int)] = [
            ("l1:ae", .notDictionary, 0), ("", .unexpectedEnd, 0),
            ("de1", .trailingBytes, 2), ("d1:a", .unexpectedEnd, 4),
        ]
        for (text, code, offset) in cases {
            let error = try #require(throws: BencodeError.self) {
                try strictDecoder.decodeDictionaryWithRawValues(Array(text.utf8))
            }
            #expect(error.code == code && error.offset == offset, "\(text)")
        }
    }

    @Test("lenient mode accepts what strict mode rejects, and no more")
    func lenientAccepts() throws {
        let cases: [(String, BencodeValue)] = [
            ("i03e", 3), ("i-0e", 0), ("i-00e", 0), ("03:abc", "abc"), ("00:", ""),
            ("d1:bi1e1:ai2ee", ["a": 2, "b": 1]), ("d1:ai1e1:ai2ee", ["a": 2]),
            ("i-09223372036854775808e", .integer(.min)),
            ("ld1:bi01e1:ai2eee", [["a": 2, "b": 1]]),
        ]
        for (text, expected) in cases {
            #expect(throws: BencodeError.self) { try strictDecoder.decode(Array(text.utf8)) }
            #expect(try lenientDecoder.decode(Array(text.utf8)) == expected, "\(text)")
        }
        for text in ["ie", "i-e", "i1", "5:abc", "x", "di1ei2ee", "i1ei2e", "d1:ae"] {
            #expect(throws: BencodeError.self) { try lenientDecoder.decode(Array(text.utf8)) }
        }
    }

    @Test("error codes round-trip through their raw values and describe themselves")
    func errorCodes() {
        let error = BencodeError(code: .leadingZero, offset: 3, message: "an integer has a leading zero")
        #expect(error.description == "bencode: an integer has a leading zero at byte 3")
        #expect(BencodeError.Code(rawValue: "leadingZero") == .leadingZero)
        let codes: [BencodeError.Code] = [
            .unexpectedEnd, .unexpectedByte, .leadingZero, .negativeZero, .integerOverflow,
            .emptyInteger, .unsortedKeys, .duplicateKey, .nonStringKey, .missingValue, .tooDeep,
            .tooLong, .stringTooLong, .trailingBytes, .notDictionary,
        ]
        #expect(Set(codes).count == codes.count)
    }
}
