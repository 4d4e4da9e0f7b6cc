// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Bencode
import Coordinates

extension KRPCMessage {
    /// The bencode decoder for incoming datagrams: lenient (other implementations send
    /// unsorted keys and other non-canonical forms) and bounded.
    static let bencodeDecoder = BencodeDecoder(mode: .lenient, maxDepth: maxDepth, maxLength: maxDatagramLength)

    /// Decodes one received datagram (spec 0005 §4–§5).
    ///
    /// Liberal accept: keys may be unsorted; unknown keys are kept; unknown query methods
    /// decode as ``Method/unknown(name:)``; malformed `v`, `ro` and `ip` at the top level are
    /// ignored; a trailing partial entry in `nodes`, `nodes6` or `samples` is ignored; bad
    /// `values` entries are skipped; unrecognised `want` entries are dropped. What remains —
    /// missing or mistyped required keys, ids and targets that are not 20 bytes, mistyped
    /// known keys — throws a ``KRPCDecodeError`` that says which key is wrong.
    public static func decode(_ datagram: [UInt8]) throws(KRPCDecodeError) -> KRPCMessage {
        guard datagram.count <= maxDatagramLength else {
            throw KRPCDecodeError(code: .tooLong, message: "datagram of \(datagram.count) bytes exceeds \(maxDatagramLength)")
        }
        let top = try readTopLevel(datagram)
        guard let transactionID = try? top.bytes("t") else {
            throw KRPCDecodeError(code: .missingTransactionID, message: "'t' is missing or not a string")
        }
        let kind: Kind
        if top.string("y", is: "q") {
            do { kind = .query(try decodeQuery(top)) } catch {
                throw KRPCDecodeError(code: error.code, message: error.message, transactionID: transactionID)
            }
        } else if top.string("y", is: "r") {
            kind = .response(try decodeResponse(top))
        } else if top.string("y", is: "e") {
            kind = .error(try decodeError(top))
        } else {
            throw KRPCDecodeError(code: .badMessageType, message: "'y' is missing or not \"q\", \"r\" or \"e\"")
        }
        var readOnly = false
        if case .integer(let flag) = top["ro"] { readOnly = flag != 0 }
        return KRPCMessage(
            transactionID: transactionID, kind: kind, clientVersion: try? top.bytes("v"), readOnly: readOnly,
            senderIP: top.stringRange("ip").flatMap { Endpoint(compact: datagram[$0]) },
            coordinate: top["plc"].flatMap(coordinateReport),
            extensions: top.extras(excluding: knownTopLevelKeyNames))
    }

    /// A `plc` value (spec 0013 §4): a list of at most 16 integers that make a valid report.
    static func coordinateReport(_ value: BencodeValue) -> VivaldiReport? {
        guard let list = value.list, list.count <= 16 else { return nil }
        let integers = list.compactMap { $0.integer }.compactMap { Int(exactly: $0) }
        guard integers.count == list.count else { return nil }
        return VivaldiReport(integers: integers)
    }

    private static func readTopLevel(_ datagram: [UInt8]) throws(KRPCDecodeError) -> KRPCFieldReader {
        do {
            return try KRPCFieldReader(source: datagram)
        } catch where error.code == .notDictionary {
            throw KRPCDecodeError(code: .notDictionary, message: "a KRPC message must be a bencoded dictionary")
        } catch {
            throw KRPCDecodeError(code: .notBencode, message: "not bencode: \(error.message)")
        }
    }

    private static func decodeError(_ top: KRPCFieldReader) throws(KRPCDecodeError) -> KRPCErrorMessage {
        guard let list = top["e"]?.list else {
            throw KRPCDecodeError(code: .missingError, message: "'e' is missing or not a list")
        }
        let code = list.first?.integer.flatMap { Int(exactly: $0) } ?? KRPCErrorMessage.generic
        let text = list.dropFirst().first?.bytes.map { String(decoding: $0, as: UTF8.self) } ?? ""
        return KRPCErrorMessage(code: code, message: text)
    }

    private static func decodeResponse(_ top: KRPCFieldReader) throws(KRPCDecodeError) -> Response {
        guard let fields = try top.nested("r") else {
            throw KRPCDecodeError(code: .missingResponse, message: "'r' is missing or not a dictionary")
        }
        var response = Response(id: try fields.id("id", .badNodeID))
        response.nodes = try fields.records("nodes", size: 26) { compactContact($0) }
        response.nodes6 = try fields.records("nodes6", size: 38) { compactContact($0) }
        response.token = try fields.bytes("token", .badToken)
        if let values = fields["values"] {
            guard let list = values.list else { throw KRPCDecodeError(code: .badField, message: "'values' is not a list") }
            response.values = list.compactMap { $0.bytes.flatMap { Endpoint(compact: $0) } }
        }
        response.value = fields.raw("v")
        response.publicKey = try fields.bytes("k")
        response.signature = try fields.bytes("sig")
        response.sequence = try fields.integer("seq")
        response.interval = try fields.integer("interval")
        response.storedCount = try fields.integer("num")
        response.samples = try fields.records("samples", size: 20) { NodeID(bytes: $0) }
        response.nodeCoordinates = try fields.records("plnc", size: PackedCoordinate.byteCount) { PackedCoordinate(bytes: $0) }
        response.extraFields = fields.extras(excluding: Response.knownKeyNames)
        return response
    }

    private static func compactContact(_ bytes: ArraySlice<UInt8>) -> NodeContact? {
        guard let id = NodeID(bytes: bytes.prefix(20)), let endpoint = Endpoint(compact: bytes.dropFirst(20)) else { return nil }
        return NodeContact(id: id, endpoint: endpoint)
    }
}
