import Bencode
import Kademlia
import Testing

@Suite("KRPC vectors (spec/vectors/krpc.json)")
struct KRPCVectorTests {
    @Test("valid datagrams decode to the expected message", arguments: try KRPCVectors.valid())
    func decodesValid(_ vector: KRPCValidVector) throws {
        let decoded = try KRPCMessage.decode(vector.bytes)
        #expect(decoded == vector.expected)
    }

    @Test("canonical messages encode to exactly the vector bytes", arguments: try KRPCVectors.valid().filter(\.canonical))
    func encodesCanonical(_ vector: KRPCValidVector) {
        #expect(vector.expected.encoded() == vector.bytes)
    }

    @Test("non-canonical datagrams re-encode canonically and stably", arguments: try KRPCVectors.valid().filter { !$0.canonical })
    func reencodesLenient(_ vector: KRPCValidVector) throws {
        let encoded = vector.expected.encoded()
        #expect(encoded != vector.bytes)
        #expect(try KRPCMessage.decode(encoded) == vector.expected)
        // What Potluck sends is canonical bencode (strict decoding accepts it).
        _ = try BencodeDecoder(mode: .strict).decode(encoded)
    }

    @Test("invalid datagrams throw the expected code", arguments: try KRPCVectors.invalid())
    func rejectsInvalid(_ vector: KRPCInvalidVector) {
        do {
            let message = try KRPCMessage.decode(vector.bytes)
            Issue.record("decoded \(message)")
        } catch {
            #expect(error.code == vector.code, "\(error.message)")
            #expect((error.transactionID != nil) == vector.reply)
            #expect((error.errorReply != nil) == vector.reply)
            if let reply = error.errorReply {
                #expect(reply.transactionID == Array("aa".utf8))
                #expect(reply.kind == .error(KRPCErrorMessage(code: 203, message: error.message)))
            }
        }
    }

    @Test func vectorFileCoversEveryMethodAndKind() throws {
        var seen: Set<String> = []
        for vector in try KRPCVectors.valid() {
            switch vector.expected.kind {
            case .query(let query): seen.insert(Self.label(query.method))
            case .response: seen.insert("response")
            case .error: seen.insert("error")
            }
        }
        #expect(seen == ["ping", "find_node", "get_peers", "announce_peer", "get", "put", "sample_infohashes", "unknown", "response", "error"])
    }

    private static func label(_ method: KRPCMessage.Method) -> String {
        if case .unknown = method { return "unknown" }
        return String(decoding: method.name, as: UTF8.self)
    }
}
