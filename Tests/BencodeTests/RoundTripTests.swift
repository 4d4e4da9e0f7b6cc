// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Bencode
import SeededRandom
import Testing

@Suite("Encoding and round trips")
struct RoundTripTests {
    static let handMade: [BencodeValue] = [
        0, 1, -1, 42, -42, .integer(.max), .integer(.min), 10, -10, 1_000_000,
        "", "spam", "a:b", .bytes([0, 0xFF, 0x80, 0x65]), .bytes(Array(repeating: 7, count: 300)),
        [], [[]], [1, "two", [3]], [:], ["": 0],
        ["b": 1, "a": 2, "Z": 3, "aa": 4, "": 5],
        .dictionary([[0xFF]: 1, [0x00]: 2, [0x7F]: 3, [0x80]: 4]),
        ["a": ["id": "abcdefghij0123456789"], "q": "ping", "t": "aa", "y": "q"],
        ["nested": ["deeper": ["deepest": [1, 2, ["k": "v"]]]]],
    ]

    @Test("hand-made values survive encode then strict decode", arguments: handMade)
    func handMadeRoundTrip(_ value: BencodeValue) throws {
        let bytes = value.encoded()
        #expect(try strictDecoder.decode(bytes) == value)
        #expect(try lenientDecoder.decode(bytes) == value)
        var appended: [UInt8] = [0xAA]
        value.encode(into: &appended)
        #expect(appended == [0xAA] + bytes)
    }

    @Test("random values survive encode then strict decode")
    func randomRoundTrip() throws {
        var rng = SplitMix64(seed: 0x5EED_0001)
        for _ in 0..<2_000 {
            let value = RandomValues.value(depth: 5, using: &rng)
            let bytes = value.encoded()
            let decoded = try strictDecoder.decode(bytes)
            #expect(decoded == value)
            #expect(decoded.encoded() == bytes)
        }
    }

    @Test("canonical encodings of known values")
    func knownEncodings() {
        let cases: [(BencodeValue, String)] = [
            (42, "i42e"), (-42, "i-42e"), (0, "i0e"),
            (.integer(.min), "i-9223372036854775808e"), (.integer(.max), "i9223372036854775807e"),
            ("spam", "4:spam"), ("", "0:"), ([], "le"), ([:], "de"),
            (["spam", 42], "l4:spami42ee"),
            (["foo": 42, "bar": "spam"], "d3:bar4:spam3:fooi42ee"),
            (["a": 1, "Z": 2, "aa": 3], "d1:Zi2e1:ai1e2:aai3ee"),
            (.bytes(Array(repeating: 0x78, count: 10)), "10:xxxxxxxxxx"),
        ]
        for (value, text) in cases {
            #expect(value.encoded() == Array(text.utf8), "\(text)")
        }
        let highKeys = BencodeValue.dictionary([[0xFF]: 1, [0x61]: 2])
        #expect(highKeys.encoded() == Array("d1:ai2e1:".utf8) + [0xFF] + Array("i1ee".utf8))
    }

    @Test("accessors return the payload only for the matching case")
    func accessors() {
        let dictionary: BencodeValue = ["name": "Potluck", "size": 3, "tags": ["a"], "raw": .bytes([0xFF])]
        #expect(dictionary["name"]?.string == "Potluck")
        #expect(dictionary["name"]?.bytes == Array("Potluck".utf8))
        #expect(dictionary["size"]?.integer == 3)
        #expect(dictionary["tags"]?.list == ["a"])
        #expect(dictionary["raw"]?.string == nil, "0xFF is not UTF-8")
        #expect(dictionary["raw"]?.bytes == [0xFF])
        #expect(dictionary["missing"] == nil)
        #expect(dictionary.dictionary?.count == 4)
        let integer: BencodeValue = 7
        #expect(integer.string == nil && integer.bytes == nil && integer.list == nil)
        #expect(integer.dictionary == nil && integer["name"] == nil)
        #expect(BencodeValue("x").integer == nil)
        #expect(BencodeValue("héllo") == .bytes(Array("héllo".utf8)))
        let index = 7
        let interpolated: BencodeValue = "node-\(index)"
        #expect(interpolated == .bytes(Array("node-7".utf8)))
    }

    @Test("a repeated key in a dictionary literal keeps the last value")
    func dictionaryLiteralLastWins() {
        let value: BencodeValue = ["k": 1, "k": 2]
        #expect(value == .dictionary([Array("k".utf8): 2]))
    }

    @Test("nesting a few hundred levels deep round-trips with a raised maxDepth")
    func deepRoundTrip() throws {
        var value: BencodeValue = 1
        for level in 0..<300 {
            value = level.isMultiple(of: 2) ? [value] : ["k": value]
        }
        let bytes = value.encoded()
        #expect(throws: BencodeError.self) { try strictDecoder.decode(bytes) }
        var decoder = BencodeDecoder()
        decoder.maxDepth = 300
        #expect(try decoder.decode(bytes) == value)
    }
}
