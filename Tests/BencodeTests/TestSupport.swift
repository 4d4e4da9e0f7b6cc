// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Bencode
import Foundation
import SeededRandom
import Testing


/// Random values with bounded size and depth.
enum RandomValues {
    static func value(depth: Int, using rng: inout SplitMix64) -> BencodeValue {
        let kinds = depth <= 0 ? 2 : 4
        switch Int.random(in: 0..<kinds, using: &rng) {
        case 0: return .integer(integer(using: &rng))
        case 1: return .bytes(bytes(using: &rng))
        case 2:
            let count = Int.random(in: 0..<5, using: &rng)
            return .list((0..<count).map { _ in value(depth: depth - 1, using: &rng) })
        default:
            var entries: [[UInt8]: BencodeValue] = [:]
            for _ in 0..<Int.random(in: 0..<5, using: &rng) {
                entries[bytes(using: &rng)] = value(depth: depth - 1, using: &rng)
            }
            return .dictionary(entries)
        }
    }

    static func integer(using rng: inout SplitMix64) -> Int64 {
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return Int64.random(in: -10...10, using: &rng)
        case 1: return [Int64.min, Int64.max, 0, -1][Int.random(in: 0..<4, using: &rng)]
        default: return Int64(bitPattern: rng.next())
        }
    }

    static func bytes(using rng: inout SplitMix64) -> [UInt8] {
        let count = Int.random(in: 0..<6, using: &rng)
        // A small alphabet so dictionary keys collide and share prefixes often.
        let alphabet: [UInt8] = [0x00, 0x61, 0x62, 0x7A, 0x5A, 0xFF, 0x3A, 0x65]
        return (0..<count).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] }
    }
}

func hexBytes(_ hex: String) throws -> [UInt8] {
    let chars = Array(hex.utf8)
    guard chars.count.isMultiple(of: 2) else { throw VectorFormatError(detail: "odd hex: \(hex)") }
    return try stride(from: 0, to: chars.count, by: 2).map { index in
        let pair = String(decoding: chars[index..<index + 2], as: UTF8.self)
        guard let byte = UInt8(pair, radix: 16) else {
            throw VectorFormatError(detail: "bad hex: \(hex)")
        }
        return byte
    }
}

struct VectorFormatError: Error, CustomStringConvertible {
    let detail: String
    var description: String { "bencode.json: \(detail)" }
}

/// The JSON form of an expected value (see the "format" field of the vectors file).
struct ExpectedValue: Decodable {
    let value: BencodeValue

    private struct Entry: Decodable {
        let k: ExpectedValue
        let v: ExpectedValue
    }

    private enum Key: String, CodingKey { case i, s, x, l, d }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        if let text = try container.decodeIfPresent(String.self, forKey: .i) {
            guard let number = Int64(text) else { throw VectorFormatError(detail: "bad i: \(text)") }
            value = .integer(number)
        } else if let text = try container.decodeIfPresent(String.self, forKey: .s) {
            value = BencodeValue(text)
        } else if let hex = try container.decodeIfPresent(String.self, forKey: .x) {
            value = .bytes(try hexBytes(hex))
        } else if let items = try container.decodeIfPresent([ExpectedValue].self, forKey: .l) {
            value = .list(items.map(\.value))
        } else if let entries = try container.decodeIfPresent([Entry].self, forKey: .d) {
            var dictionary: [[UInt8]: BencodeValue] = [:]
            for entry in entries {
                guard let key = entry.k.value.bytes else {
                    throw VectorFormatError(detail: "non-string key")
                }
                dictionary[key] = entry.v.value
            }
            value = .dictionary(dictionary)
        } else {
            throw VectorFormatError(detail: "value with none of i, s, x, l, d")
        }
    }
}

struct ValidVector: Sendable, CustomTestStringConvertible {
    let name: String
    let input: [UInt8]
    let expected: BencodeValue
    let strictAccepts: Bool
    let canonical: Bool
    var testDescription: String { name }
}

struct InvalidVector: Sendable, CustomTestStringConvertible {
    let name: String
    let input: [UInt8]
    let code: BencodeError.Code
    let offset: Int
    let lenientRejects: Bool
    var testDescription: String { name }
}

enum Vectors {
    private struct File: Decodable {
        struct Valid: Decodable {
            let name, hex, mode: String
            let value: ExpectedValue
            let canonical: Bool
        }
        struct Invalid: Decodable {
            let name, hex, mode, code: String
            let offset: Int
        }
        let valid: [Valid]
        let invalid: [Invalid]
    }

    /// `spec/vectors/bencode.json`, found from this file's path.
    static let url: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // BencodeTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // package root
        .appendingPathComponent("spec/vectors/bencode.json")

    private static func load() throws -> File {
        try JSONDecoder().decode(File.self, from: Data(contentsOf: url))
    }

    static func valid() throws -> [ValidVector] {
        try load().valid.map { entry in
            guard entry.mode == "strict" || entry.mode == "lenient" else {
                throw VectorFormatError(detail: "\(entry.name): bad mode \(entry.mode)")
            }
            return ValidVector(
                name: entry.name, input: try hexBytes(entry.hex), expected: entry.value.value,
                strictAccepts: entry.mode == "strict", canonical: entry.canonical)
        }
    }

    static func invalid() throws -> [InvalidVector] {
        try load().invalid.map { entry in
            guard entry.mode == "strict" || entry.mode == "both" else {
                throw VectorFormatError(detail: "\(entry.name): bad mode \(entry.mode)")
            }
            return InvalidVector(
                name: entry.name, input: try hexBytes(entry.hex),
                code: BencodeError.Code(rawValue: entry.code), offset: entry.offset,
                lenientRejects: entry.mode == "both")
        }
    }
}

/// Decodes `input` and returns the `BencodeError` thrown, or records a failure if it decodes.
func decodingError(
    _ decoder: BencodeDecoder, _ input: [UInt8],
    sourceLocation: SourceLocation = #_sourceLocation
) -> BencodeError? {
    do {
        let value = try decoder.decode(input)
        Issue.record("expected a BencodeError, decoded \(value)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

let strictDecoder = BencodeDecoder()
let lenientDecoder = BencodeDecoder(mode: .lenient)
