// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Bencode

extension KRPCMessage {
    /// Decodes `q` and `a` of a query (BEP 5 "Queries", BEP 44, BEP 51, BEP 32 `want`).
    static func decodeQuery(_ top: KRPCFieldReader) throws(KRPCDecodeError) -> Query {
        guard let name = top.stringRange("q") else {
            throw KRPCDecodeError(code: .missingMethod, message: "'q' is missing or not a string")
        }
        guard let args = try top.nested("a") else {
            throw KRPCDecodeError(code: .missingArguments, message: "'a' is missing or not a dictionary")
        }
        let id = try args.id("id", .badNodeID)
        var want: Set<Want> = []
        if args.valueRange("want") != nil {
            for entry in args["want"]?.list ?? [] {
                if let text = entry.string, let value = Want(rawValue: text) { want.insert(value) }
            }
        }
        let (method, known) = try decodeMethod(top.source[name], args)
        let extra = args.extras(excluding: known + ["id", "want"])
        return Query(id: id, method: method, want: want, extraArguments: extra)
    }

    /// The method and the argument keys it consumed.
    private static func decodeMethod(
        _ name: ArraySlice<UInt8>, _ args: KRPCFieldReader
    ) throws(KRPCDecodeError) -> (Method, [StaticString]) {
        func named(_ expected: StaticString) -> Bool {
            expected.withUTF8Buffer { name.elementsEqual($0) }
        }
        if named("find_node") {
            return (.findNode(target: try args.id("target", .badTarget)), ["target"])
        } else if named("get") {
            let target = try args.id("target", .badTarget)
            return (.get(target: target, sequence: try args.integer("seq")), ["target", "seq"])
        } else if named("ping") {
            return (.ping, [])
        } else if named("get_peers") {
            return (.getPeers(infoHash: try args.id("info_hash", .badInfoHash)), ["info_hash"])
        } else if named("announce_peer") {
            return (.announcePeer(try decodeAnnounce(args)), ["info_hash", "port", "token", "implied_port", "seed"])
        } else if named("put") {
            return (.put(try decodePut(args)), ["token", "v", "k", "sig", "seq", "salt", "cas"])
        } else if named("sample_infohashes") {
            return (.sampleInfohashes(target: try args.id("target", .badTarget)), ["target"])
        }
        return (.unknown(name: Array(name)), [])
    }

    private static func decodeAnnounce(_ args: KRPCFieldReader) throws(KRPCDecodeError) -> AnnouncePeer {
        let infoHash = try args.id("info_hash", .badInfoHash)
        let impliedPort = (try args.integer("implied_port") ?? 0) != 0
        let port: UInt16
        switch try args.integer("port", .badPort) {
        case .some(let value):
            guard let narrow = UInt16(exactly: value) else {
                throw KRPCDecodeError(code: .badPort, message: "'port' \(value) is outside 0…65535")
            }
            port = narrow
        case .none where impliedPort: port = 0
        case .none: throw KRPCDecodeError(code: .badPort, message: "'port' is missing and 'implied_port' is not set")
        }
        let token = try args.requiredBytes("token", .badToken)
        let seed = try args.integer("seed").map { $0 != 0 }
        return AnnouncePeer(infoHash: infoHash, port: port, token: token, impliedPort: impliedPort, seed: seed)
    }

    private static func decodePut(_ args: KRPCFieldReader) throws(KRPCDecodeError) -> PutRequest {
        let token = try args.requiredBytes("token", .badToken)
        guard let value = args.raw("v") else { throw KRPCDecodeError(code: .missingValue, message: "put without 'v'") }
        guard let key = try args.bytes("k", length: 32, .badMutableItem) else {
            for name: StaticString in ["sig", "seq", "salt", "cas"] where args[name] != nil {
                throw KRPCDecodeError(code: .badMutableItem, message: "'\(name)' without 'k'")
            }
            return PutRequest(token: token, value: value)
        }
        guard let signature = try args.bytes("sig", length: 64, .badMutableItem) else {
            throw KRPCDecodeError(code: .badMutableItem, message: "mutable put without 'sig'")
        }
        guard let sequence = try args.integer("seq", .badMutableItem) else {
            throw KRPCDecodeError(code: .badMutableItem, message: "mutable put without 'seq'")
        }
        let mutable = MutableItem(
            publicKey: key, signature: signature, sequence: sequence,
            salt: try args.bytes("salt", .badMutableItem), cas: try args.integer("cas", .badMutableItem))
        return PutRequest(token: token, value: value, mutable: mutable)
    }
}
