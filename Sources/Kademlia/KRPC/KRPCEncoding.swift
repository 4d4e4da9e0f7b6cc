// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Bencode
import Coordinates

/// Writes one bencoded dictionary straight into an output buffer. The encoder names its own
/// keys in ascending raw-byte order (BEP 3) with ``key(_:into:)`` and writes each value right
/// after; extension entries (already-decoded values kept for round trips) are merged in at
/// their sorted places, and never override a key the encoder writes.
struct KRPCDictionaryWriter {
    /// The extension entries to merge, sorted by key.
    private let extras: [(key: [UInt8], value: BencodeValue)]
    private var nextExtra = 0

    /// Opens the dictionary (`d`); extension entries whose keys are in `reserved` are left out.
    init(extras: [[UInt8]: BencodeValue], excluding reserved: [StaticString] = [], into out: inout [UInt8]) {
        if extras.isEmpty {
            self.extras = []
        } else {
            self.extras = extras
                .filter { entry in !reserved.contains { name in name.withUTF8Buffer { entry.key.elementsEqual($0) } } }
                .map { (key: $0.key, value: $0.value) }
                .sorted { $0.key.lexicographicallyPrecedes($1.key) }
        }
        out.append(UInt8(ascii: "d"))
    }

    /// Writes `key` (after any extension entries that sort before it); the caller writes its value next.
    mutating func key(_ key: StaticString, into out: inout [UInt8]) {
        key.withUTF8Buffer { name in
            while nextExtra < extras.count, extras[nextExtra].key.lexicographicallyPrecedes(name) {
                writeExtra(into: &out)
            }
            // An extension entry with the same key is overridden by ours.
            if nextExtra < extras.count, extras[nextExtra].key.elementsEqual(name) { nextExtra += 1 }
            BencodeWriter.appendString(name, to: &out)
        }
    }

    /// Writes the remaining extension entries and closes the dictionary (`e`).
    mutating func finish(into out: inout [UInt8]) {
        while nextExtra < extras.count { writeExtra(into: &out) }
        out.append(UInt8(ascii: "e"))
    }

    private mutating func writeExtra(into out: inout [UInt8]) {
        BencodeWriter.appendString(extras[nextExtra].key, to: &out)
        extras[nextExtra].value.encode(into: &out)
        nextExtra += 1
    }
}

extension KRPCMessage {
    /// The canonical bencoding of this message (BEP 3 sorted keys, BEP 5 layout), ready to send.
    ///
    /// Strict send (spec §4): only the keys the message holds are written; `ro` only when true;
    /// `implied_port` only when true; `want` only when non-empty. Extension keys that clash
    /// with keys this type writes are left out.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(estimatedLength)
        var top = KRPCDictionaryWriter(extras: extensions, excluding: Self.knownTopLevelKeyNames, into: &out)
        // Keys in ascending order: a, e, ip, plc, q, r, ro, t, v, y.
        if case .query(let query) = kind {
            top.key("a", into: &out)
            query.encodeArguments(into: &out)
        }
        if case .error(let error) = kind {
            top.key("e", into: &out)
            out.append(UInt8(ascii: "l"))
            BencodeWriter.appendInteger(Int64(error.code), to: &out)
            BencodeWriter.appendString(error.message.utf8, to: &out)
            out.append(UInt8(ascii: "e"))
        }
        if let senderIP {
            top.key("ip", into: &out)
            BencodeWriter.appendStringHeader(length: senderIP.compactLength, to: &out)
            senderIP.appendCompact(to: &out)
        }
        if let coordinate {
            top.key("plc", into: &out)
            out.append(UInt8(ascii: "l"))
            for value in coordinate.integers { BencodeWriter.appendInteger(Int64(value), to: &out) }
            out.append(UInt8(ascii: "e"))
        }
        if case .query(let query) = kind {
            top.key("q", into: &out)
            BencodeWriter.appendString(query.methodName, to: &out)
        }
        if case .response(let response) = kind {
            top.key("r", into: &out)
            response.encodeFields(into: &out)
        }
        if readOnly {
            top.key("ro", into: &out)
            BencodeWriter.appendInteger(1, to: &out)
        }
        top.key("t", into: &out)
        BencodeWriter.appendString(transactionID, to: &out)
        if let clientVersion {
            top.key("v", into: &out)
            BencodeWriter.appendString(clientVersion, to: &out)
        }
        top.key("y", into: &out)
        switch kind {
        case .query: BencodeWriter.appendString("q", to: &out)
        case .response: BencodeWriter.appendString("r", to: &out)
        case .error: BencodeWriter.appendString("e", to: &out)
        }
        top.finish(into: &out)
        return out
    }

    /// A capacity that holds most messages without growing the buffer.
    private var estimatedLength: Int {
        guard case .response(let response) = kind else { return 256 }
        return 256 + 26 * (response.nodes?.count ?? 0) + 38 * (response.nodes6?.count ?? 0) + (response.value?.count ?? 0)
            + 20 * (response.samples?.count ?? 0) + 20 * (response.values?.count ?? 0) + 6 * (response.nodeCoordinates?.count ?? 0)
    }
}

extension KRPCMessage.Query {
    /// Appends the bencoded `a` dictionary.
    func encodeArguments(into out: inout [UInt8]) {
        var args = KRPCDictionaryWriter(extras: extraArguments, into: &out)
        // Keys in ascending order: cas, id, implied_port, info_hash, k, port, salt, seed, seq,
        // sig, target, token, v, want.
        func bytes(_ key: StaticString, _ value: [UInt8]) {
            args.key(key, into: &out)
            BencodeWriter.appendString(value, to: &out)
        }
        func integer(_ key: StaticString, _ value: Int64) {
            args.key(key, into: &out)
            BencodeWriter.appendInteger(value, to: &out)
        }
        if case .put(let put) = method, let cas = put.mutable?.cas { integer("cas", cas) }
        args.key("id", into: &out)
        BencodeWriter.appendStringHeader(length: NodeID.byteCount, to: &out)
        id.appendBytes(to: &out)
        switch method {
        case .ping, .unknown: break
        case .findNode(let target), .sampleInfohashes(let target): bytes("target", target.bytes)
        case .getPeers(let infoHash): bytes("info_hash", infoHash.bytes)
        case .announcePeer(let announce):
            if announce.impliedPort { integer("implied_port", 1) }
            bytes("info_hash", announce.infoHash.bytes)
            integer("port", Int64(announce.port))
            if let seed = announce.seed { integer("seed", seed ? 1 : 0) }
            bytes("token", announce.token)
        case .get(let target, let sequence):
            if let sequence { integer("seq", sequence) }
            bytes("target", target.bytes)
        case .put(let put):
            if let mutable = put.mutable {
                bytes("k", mutable.publicKey)
                if let salt = mutable.salt { bytes("salt", salt) }
                integer("seq", mutable.sequence)
                bytes("sig", mutable.signature)
            }
            bytes("token", put.token)
            args.key("v", into: &out)
            out.append(contentsOf: put.value)
        }
        if !want.isEmpty {
            args.key("want", into: &out)
            out.append(UInt8(ascii: "l"))
            for name in want.map(\.rawValue).sorted() { BencodeWriter.appendString(name.utf8, to: &out) }
            out.append(UInt8(ascii: "e"))
        }
        args.finish(into: &out)
    }
}

extension KRPCMessage.Response {
    /// Appends the bencoded `r` dictionary.
    func encodeFields(into out: inout [UInt8]) {
        var fields = KRPCDictionaryWriter(extras: extraFields, into: &out)
        // Keys in ascending order: id, interval, k, nodes, nodes6, num, plnc, samples, seq, sig,
        // token, v, values.
        func bytes(_ key: StaticString, _ value: [UInt8]) {
            fields.key(key, into: &out)
            BencodeWriter.appendString(value, to: &out)
        }
        func integer(_ key: StaticString, _ value: Int64) {
            fields.key(key, into: &out)
            BencodeWriter.appendInteger(value, to: &out)
        }
        fields.key("id", into: &out)
        BencodeWriter.appendStringHeader(length: NodeID.byteCount, to: &out)
        id.appendBytes(to: &out)
        if let interval { integer("interval", interval) }
        if let publicKey { bytes("k", publicKey) }
        if let nodes {
            fields.key("nodes", into: &out)
            Self.appendCompact(nodes, v6: false, to: &out)
        }
        if let nodes6 {
            fields.key("nodes6", into: &out)
            Self.appendCompact(nodes6, v6: true, to: &out)
        }
        if let storedCount { integer("num", storedCount) }
        if let nodeCoordinates {
            fields.key("plnc", into: &out)
            BencodeWriter.appendStringHeader(length: PackedCoordinate.byteCount * nodeCoordinates.count, to: &out)
            for coordinate in nodeCoordinates { coordinate.append(to: &out) }
        }
        if let samples {
            fields.key("samples", into: &out)
            BencodeWriter.appendStringHeader(length: NodeID.byteCount * samples.count, to: &out)
            for sample in samples { sample.appendBytes(to: &out) }
        }
        if let sequence { integer("seq", sequence) }
        if let signature { bytes("sig", signature) }
        if let token { bytes("token", token) }
        if let value {
            fields.key("v", into: &out)
            out.append(contentsOf: value)
        }
        if let values {
            fields.key("values", into: &out)
            out.append(UInt8(ascii: "l"))
            for endpoint in values {
                BencodeWriter.appendStringHeader(length: endpoint.compactLength, to: &out)
                endpoint.appendCompact(to: &out)
            }
            out.append(UInt8(ascii: "e"))
        }
        fields.finish(into: &out)
    }

    /// Appends the compact node list as one string; contacts of the other address family are
    /// left out (strict send: `nodes` holds only 26-byte IPv4 entries and `nodes6` only 38-byte
    /// IPv6 entries).
    private static func appendCompact(_ contacts: [NodeContact], v6: Bool, to out: inout [UInt8]) {
        let entryLength = v6 ? 38 : 26
        var count = 0
        for contact in contacts where (contact.endpoint.compactLength == 18) == v6 { count += 1 }
        BencodeWriter.appendStringHeader(length: count * entryLength, to: &out)
        for contact in contacts where (contact.endpoint.compactLength == 18) == v6 { contact.appendCompact(to: &out) }
    }
}
