import Bencode
import Foundation
import Kademlia
import Testing

/// A malformed entry in `spec/vectors/krpc.json` (so a broken file fails loudly).
struct KRPCVectorError: Error, CustomStringConvertible {
    let description: String
}

/// One canonical or lenient datagram and the message it must decode to.
struct KRPCValidVector: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let expected: KRPCMessage
    let canonical: Bool
    var testDescription: String { name }
}

/// One datagram that must be rejected with `code`.
struct KRPCInvalidVector: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let code: KRPCDecodeError.Code
    let reply: Bool
    var testDescription: String { name }
}

enum KRPCVectors {
    private struct File: Decodable {
        struct Valid: Decodable {
            let name, hex: String
            let text: String?
            let canonical: Bool
            let message: KRPCMessageJSON
        }
        struct Invalid: Decodable {
            let name, hex, code: String
            let text: String?
            let reply: Bool
        }
        let valid: [Valid]
        let invalid: [Invalid]
    }

    /// `spec/vectors/krpc.json`: walks up from this file to the directory holding Package.swift.
    static func url(from file: String = #filePath) throws -> URL {
        var directory = URL(fileURLWithPath: file).deletingLastPathComponent()
        while directory.path != "/" {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
                return directory.appendingPathComponent("spec/vectors/krpc.json")
            }
            directory.deleteLastPathComponent()
        }
        throw KRPCVectorError(description: "no Package.swift above \(file)")
    }

    private static func load() throws -> File {
        try JSONDecoder().decode(File.self, from: Data(contentsOf: url()))
    }

    static func valid() throws -> [KRPCValidVector] {
        try load().valid.map { entry in
            let bytes = try krpcHex(entry.hex)
            if let text = entry.text, Array(text.utf8) != bytes {
                throw KRPCVectorError(description: "\(entry.name): text and hex differ")
            }
            return KRPCValidVector(name: entry.name, bytes: bytes, expected: try entry.message.build(), canonical: entry.canonical)
        }
    }

    static func invalid() throws -> [KRPCInvalidVector] {
        try load().invalid.map { entry in
            KRPCInvalidVector(
                name: entry.name, bytes: try krpcHex(entry.hex), code: KRPCDecodeError.Code(rawValue: entry.code),
                reply: entry.reply)
        }
    }

    /// Every datagram in the file, valid or not (seeds for the fuzz test).
    static func allDatagrams() throws -> [[UInt8]] {
        let file = try load()
        return try file.valid.map { try krpcHex($0.hex) } + file.invalid.map { try krpcHex($0.hex) }
    }
}

func krpcHex(_ text: String) throws -> [UInt8] {
    let digits = Array(text.utf8)
    guard digits.count % 2 == 0 else { throw KRPCVectorError(description: "odd hex length: \(text)") }
    return try stride(from: 0, to: digits.count, by: 2).map { index in
        guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else {
            throw KRPCVectorError(description: "bad hex: \(text)")
        }
        return byte
    }
}

private func vectorID(_ text: String?) throws -> NodeID {
    guard let text, let id = NodeID(bytes: try krpcHex(text)) else { throw KRPCVectorError(description: "bad id \(text ?? "nil")") }
    return id
}

private func vectorEndpoint(_ text: String) throws -> Endpoint {
    guard let endpoint = Endpoint(text) else { throw KRPCVectorError(description: "bad endpoint \(text)") }
    return endpoint
}

private func optionalHex(_ text: String?) throws -> [UInt8]? { try text.map(krpcHex) }

private func bencodedMap(_ map: [String: String]?) throws -> [[UInt8]: BencodeValue] {
    var out: [[UInt8]: BencodeValue] = [:]
    for (key, value) in map ?? [:] { out[Array(key.utf8)] = try BencodeDecoder().decode(try krpcHex(value)) }
    return out
}

struct KRPCNodeJSON: Decodable {
    let id, endpoint: String
    func build() throws -> NodeContact { NodeContact(id: try Kademlia.NodeID(bytes: try krpcHex(id)).krpcUnwrap(), endpoint: try endpoint.krpcEndpoint()) }
}

fileprivate extension Optional {
    func krpcUnwrap() throws -> Wrapped {
        guard let self else { throw KRPCVectorError(description: "unexpected nil") }
        return self
    }
}

fileprivate extension String {
    func krpcEndpoint() throws -> Endpoint { try vectorEndpoint(self) }
}

struct KRPCMessageJSON: Decodable {
    let t, y: String
    let v, ip: String?
    let ro: Bool?
    let extensions: [String: String]?
    let query: KRPCQueryJSON?
    let response: KRPCResponseJSON?
    let error: KRPCErrorJSON?

    func build() throws -> KRPCMessage {
        let kind: KRPCMessage.Kind
        switch (y, query, response, error) {
        case ("q", let query?, nil, nil): kind = .query(try query.build())
        case ("r", nil, let response?, nil): kind = .response(try response.build())
        case ("e", nil, nil, let error?): kind = .error(KRPCErrorMessage(code: error.code, message: error.message))
        default: throw KRPCVectorError(description: "y \(y) does not match the body")
        }
        return KRPCMessage(
            transactionID: try krpcHex(t), kind: kind, clientVersion: try optionalHex(v), readOnly: ro ?? false,
            senderIP: try ip.map(vectorEndpoint), extensions: try bencodedMap(extensions))
    }
}

struct KRPCErrorJSON: Decodable {
    let code: Int
    let message: String
}

struct KRPCQueryJSON: Decodable {
    let method: String
    let name, id, target, info_hash, token, k, sig, salt, v: String?
    let port, seq, cas: Int64?
    let implied_port, seed: Bool?
    let want: [String]?
    let extra: [String: String]?

    func build() throws -> KRPCMessage.Query {
        let wants = try (want ?? []).map { try KRPCMessage.Want(rawValue: $0).krpcUnwrap() }
        return KRPCMessage.Query(id: try vectorID(self.id), method: try buildMethod(), want: Set(wants), extraArguments: try bencodedMap(extra))
    }

    private func buildMethod() throws -> KRPCMessage.Method {
        switch method {
        case "ping": return .ping
        case "find_node": return .findNode(target: try vectorID(target))
        case "get_peers": return .getPeers(infoHash: try vectorID(info_hash))
        case "announce_peer":
            return .announcePeer(KRPCMessage.AnnouncePeer(
                infoHash: try vectorID(info_hash), port: try UInt16(exactly: port.krpcUnwrap()).krpcUnwrap(), token: try krpcHex(token.krpcUnwrap()),
                impliedPort: implied_port ?? false, seed: seed))
        case "get": return .get(target: try vectorID(target), sequence: seq)
        case "put":
            var mutable: KRPCMessage.MutableItem?
            if let k {
                mutable = KRPCMessage.MutableItem(
                    publicKey: try krpcHex(k), signature: try krpcHex(sig.krpcUnwrap()), sequence: try seq.krpcUnwrap(),
                    salt: try optionalHex(salt), cas: cas)
            }
            return .put(KRPCMessage.PutRequest(token: try krpcHex(token.krpcUnwrap()), value: try krpcHex(v.krpcUnwrap()), mutable: mutable))
        case "sample_infohashes": return .sampleInfohashes(target: try vectorID(target))
        case "unknown": return .unknown(name: try krpcHex(name.krpcUnwrap()))
        default: throw KRPCVectorError(description: "unknown method \(method)")
        }
    }
}

struct KRPCResponseJSON: Decodable {
    let id: String
    let token, k, sig, v: String?
    let nodes, nodes6: [KRPCNodeJSON]?
    let values, samples: [String]?
    let seq, interval, num: Int64?
    let extra: [String: String]?

    func build() throws -> KRPCMessage.Response {
        KRPCMessage.Response(
            id: try Kademlia.NodeID(bytes: try krpcHex(id)).krpcUnwrap(), nodes: try nodes?.map { try $0.build() },
            nodes6: try nodes6?.map { try $0.build() }, token: try optionalHex(token),
            values: try values?.map { try $0.krpcEndpoint() }, value: try optionalHex(v), publicKey: try optionalHex(k),
            signature: try optionalHex(sig), sequence: seq, interval: interval, storedCount: num,
            samples: try samples?.map { try Kademlia.NodeID(bytes: try krpcHex($0)).krpcUnwrap() }, extraFields: try bencodedMap(extra))
    }
}
