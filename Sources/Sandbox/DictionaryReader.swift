// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Bencode

/// Reads a bencoded dictionary strictly: every key must be expected, every required key
/// present and of the right kind. Errors name the record and the key.
struct DictionaryReader {
    let record: String
    let entries: [[UInt8]: BencodeValue]

    /// Fails unless `value` is a dictionary whose keys are all in `allowed`.
    init(_ value: BencodeValue, record: String, allowed: Set<String>) throws(SandboxError) {
        guard case .dictionary(let entries) = value else {
            throw SandboxError(.badEncoding, "\(record) is not a bencoded dictionary")
        }
        for key in entries.keys {
            let name = String(decoding: key, as: UTF8.self)
            guard allowed.contains(name) else {
                throw SandboxError(.badEncoding, "\(record) has an unknown key '\(name)'")
            }
        }
        self.record = record
        self.entries = entries
    }

    func value(_ key: String) throws(SandboxError) -> BencodeValue {
        guard let value = entries[Array(key.utf8)] else {
            throw SandboxError(.badEncoding, "\(record) lacks the key '\(key)'")
        }
        return value
    }

    func has(_ key: String) -> Bool { entries[Array(key.utf8)] != nil }

    func integer(_ key: String) throws(SandboxError) -> Int64 {
        guard case .integer(let number) = try value(key) else {
            throw SandboxError(.badEncoding, "\(record).\(key) is not an integer")
        }
        return number
    }

    func bytes(_ key: String) throws(SandboxError) -> [UInt8] {
        guard case .bytes(let bytes) = try value(key) else {
            throw SandboxError(.badEncoding, "\(record).\(key) is not a byte string")
        }
        return bytes
    }

    func text(_ key: String) throws(SandboxError) -> String {
        guard let text = String(validating: try bytes(key), as: UTF8.self) else {
            throw SandboxError(.badEncoding, "\(record).\(key) is not UTF-8")
        }
        return text
    }

    /// A list of UTF-8 byte strings.
    func texts(_ key: String) throws(SandboxError) -> [String] {
        guard case .list(let values) = try value(key) else {
            throw SandboxError(.badEncoding, "\(record).\(key) is not a list")
        }
        var texts: [String] = []
        for (index, value) in values.enumerated() {
            guard let text = value.string else {
                throw SandboxError(.badEncoding, "\(record).\(key)[\(index)] is not a UTF-8 byte string")
            }
            texts.append(text)
        }
        return texts
    }

    /// A dictionary of byte strings keyed by UTF-8 names.
    func files(_ key: String) throws(SandboxError) -> [String: [UInt8]] {
        guard case .dictionary(let entries) = try value(key) else {
            throw SandboxError(.badEncoding, "\(record).\(key) is not a dictionary")
        }
        var files: [String: [UInt8]] = [:]
        for (name, content) in entries {
            guard let text = String(validating: name, as: UTF8.self) else {
                throw SandboxError(.badEncoding, "\(record).\(key) has a file name that is not UTF-8")
            }
            guard case .bytes(let bytes) = content else {
                throw SandboxError(.badEncoding, "\(record).\(key)['\(text)'] is not a byte string")
            }
            files[text] = bytes
        }
        return files
    }

    static func encodeFiles(_ files: [String: [UInt8]]) -> BencodeValue {
        .dictionary(Dictionary(uniqueKeysWithValues: files.map { (Array($0.key.utf8), BencodeValue.bytes($0.value)) }))
    }
}

/// Decodes one canonical bencoded value of at most `maxLength` bytes.
func decodeCanonical(_ bytes: [UInt8], record: String, maxLength: Int) throws(SandboxError) -> BencodeValue {
    var decoder = BencodeDecoder(mode: .strict, maxDepth: 8, maxLength: maxLength)
    decoder.maxStringLength = maxLength
    do {
        return try decoder.decode(bytes)
    } catch {
        throw SandboxError(.badEncoding, "\(record) is not canonical bencoding: \(error.message)")
    }
}
