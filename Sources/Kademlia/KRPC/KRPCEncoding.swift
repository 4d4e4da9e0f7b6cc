// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Bencode

/// A bencoded dictionary under construction whose values are already encoded, so raw
/// BEP 44 `v` bytes can be spliced in verbatim. Keys are written in BEP 3 order.
struct KRPCDictionaryWriter {
    private var entries: [[UInt8]: [UInt8]] = [:]

    mutating func raw(_ key: String, _ encoded: [UInt8]) { entries[Array(key.utf8)] = encoded }

    mutating func bytes(_ key: String, _ value: [UInt8]) { raw(key, BencodeValue.bytes(value).encoded()) }

    mutating func integer(_ key: String, _ value: Int64) { raw(key, BencodeValue.integer(value).encoded()) }

    /// Adds the entries whose keys are not already present (extensions never override).
    mutating func merge(_ extra: [[UInt8]: BencodeValue], excluding reserved: Set<[UInt8]> = []) {
        for (key, value) in extra where entries[key] == nil && !reserved.contains(key) {
            entries[key] = value.encoded()
        }
    }

    func encoded() -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "d")]
        for key in entries.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            out += Array(String(key.count).utf8)
            out.append(UInt8(ascii: ":"))
            out += key
            out += entries[key]!
        }
        out.append(UInt8(ascii: "e"))
        return out
    }
}

extension KRPCMessage {
    /// The canonical bencoding of this message (BEP 3 sorted keys, BEP 5 layout), ready to send.
    ///
    /// Strict send (spec §4): only the keys the message holds are written; `ro` only when true;
    /// `implied_port` only when true; `want` only when non-empty. Extension keys that clash
    /// with keys this type writes are left out.
    public func encoded() -> [UInt8] {
        var top = KRPCDictionaryWriter()
        top.bytes("t", transactionID)
        switch kind {
        case .query(let query):
            top.bytes("y", Array("q".utf8))
            top.bytes("q", query.methodName)
            top.raw("a", query.encodedArguments())
        case .response(let response):
            top.bytes("y", Array("r".utf8))
            top.raw("r", response.encodedFields())
        case .error(let error):
            top.bytes("y", Array("e".utf8))
            top.raw("e", BencodeValue.list([.integer(Int64(error.code)), .bytes(Array(error.message.utf8))]).encoded())
        }
        if let clientVersion { top.bytes("v", clientVersion) }
        if readOnly { top.integer("ro", 1) }
        if let senderIP { top.bytes("ip", senderIP.compact) }
        top.merge(extensions, excluding: Self.knownTopLevelKeys)
        return top.encoded()
    }
}

extension KRPCMessage.Query {
    /// The bencoded `a` dictionary.
    func encodedArguments() -> [UInt8] {
        var args = KRPCDictionaryWriter()
        args.bytes("id", id.bytes)
        if !want.isEmpty {
            let names = want.map(\.rawValue).sorted().map { BencodeValue.bytes(Array($0.utf8)) }
            args.raw("want", BencodeValue.list(names).encoded())
        }
        switch method {
        case .ping, .unknown: break
        case .findNode(let target), .sampleInfohashes(let target): args.bytes("target", target.bytes)
        case .getPeers(let infoHash): args.bytes("info_hash", infoHash.bytes)
        case .announcePeer(let announce):
            args.bytes("info_hash", announce.infoHash.bytes)
            args.integer("port", Int64(announce.port))
            args.bytes("token", announce.token)
            if announce.impliedPort { args.integer("implied_port", 1) }
            if let seed = announce.seed { args.integer("seed", seed ? 1 : 0) }
        case .get(let target, let sequence):
            args.bytes("target", target.bytes)
            if let sequence { args.integer("seq", sequence) }
        case .put(let put):
            args.bytes("token", put.token)
            args.raw("v", put.value)
            if let mutable = put.mutable {
                args.bytes("k", mutable.publicKey)
                args.bytes("sig", mutable.signature)
                args.integer("seq", mutable.sequence)
                if let salt = mutable.salt { args.bytes("salt", salt) }
                if let cas = mutable.cas { args.integer("cas", cas) }
            }
        }
        args.merge(extraArguments)
        return args.encoded()
    }
}

extension KRPCMessage.Response {
    /// The bencoded `r` dictionary.
    func encodedFields() -> [UInt8] {
        var fields = KRPCDictionaryWriter()
        fields.bytes("id", id.bytes)
        if let nodes { fields.bytes("nodes", Self.compact(nodes, v6: false)) }
        if let nodes6 { fields.bytes("nodes6", Self.compact(nodes6, v6: true)) }
        if let token { fields.bytes("token", token) }
        if let values {
            fields.raw("values", BencodeValue.list(values.map { .bytes($0.compact) }).encoded())
        }
        if let value { fields.raw("v", value) }
        if let publicKey { fields.bytes("k", publicKey) }
        if let signature { fields.bytes("sig", signature) }
        if let sequence { fields.integer("seq", sequence) }
        if let interval { fields.integer("interval", interval) }
        if let storedCount { fields.integer("num", storedCount) }
        if let samples {
            var bytes: [UInt8] = []
            for sample in samples { sample.appendBytes(to: &bytes) }
            fields.bytes("samples", bytes)
        }
        fields.merge(extraFields)
        return fields.encoded()
    }

    /// The compact node list; contacts of the other address family are left out (strict send:
    /// `nodes` holds only 26-byte IPv4 entries and `nodes6` only 38-byte IPv6 entries).
    private static func compact(_ contacts: [NodeContact], v6: Bool) -> [UInt8] {
        var bytes: [UInt8] = []
        for contact in contacts where (contact.endpoint.compactLength == 18) == v6 { contact.appendCompact(to: &bytes) }
        return bytes
    }
}
