import Bencode
import Coordinates
import Kademlia
import Testing

@Suite("KRPC messages")
struct KRPCMessageTests {
    private let me = NodeID(bytes: Array(repeating: 0x11, count: 20))!
    private let target = NodeID(bytes: Array(repeating: 0x22, count: 20))!

    private func decode(_ text: String) throws(KRPCDecodeError) -> KRPCMessage { try KRPCMessage.decode(Array(text.utf8)) }

    @Test func errorReplyMatchesBEP5ExampleWithCorrectedLength() {
        let reply = KRPCMessage.errorReply(to: Array("aa".utf8), code: 201, message: "A Generic Error Ovccured")
        #expect(reply.encoded() == Array("d1:eli201e24:A Generic Error Ovccurede1:t2:aa1:y1:ee".utf8))
        let standard = KRPCMessage.errorReply(to: [1, 2], code: KRPCErrorMessage.methodUnknown)
        #expect(standard.kind == .error(KRPCErrorMessage(code: 204, message: "Method Unknown")))
    }

    @Test(arguments: [
        (201, "Generic Error"), (202, "Server Error"), (203, "Protocol Error"), (204, "Method Unknown"),
        (205, "message (v field) too big"), (206, "invalid signature"), (207, "salt (salt field) too big"),
        (301, "the CAS hash mismatched, re-read value and try again"), (302, "sequence number less than current"),
        (999, "Error 999"),
    ])
    func standardErrorMessages(code: Int, text: String) {
        #expect(KRPCErrorMessage.standard(code) == KRPCErrorMessage(code: code, message: text))
    }

    @Test func unknownMethodImpliedTarget() throws {
        let withTarget = try KRPCMessage.decode(KRPCMessage(
            transactionID: [9], kind: .query(.init(id: me, method: .unknown(name: Array("vote".utf8)),
                                                   extraArguments: [Array("info_hash".utf8): .bytes(target.bytes)]))).encoded())
        guard case .query(let query) = withTarget.kind else { Issue.record("not a query"); return }
        #expect(query.impliedTarget == target)
        #expect(query.methodName == Array("vote".utf8))
        let bare = KRPCMessage.Query(id: me, method: .unknown(name: Array("x".utf8)), extraArguments: [Array("target".utf8): "short"])
        #expect(bare.impliedTarget == nil)
        let known = KRPCMessage.Query(id: me, method: .findNode(target: target))
        #expect(known.impliedTarget == nil)
    }

    @Test func extensionsNeverOverrideKnownKeys() throws {
        var message = KRPCMessage(transactionID: Array("aa".utf8), kind: .query(.init(id: me, method: .ping)))
        message.extensions = [Array("y".utf8): "r", Array("t".utf8): "zz", Array("plx".utf8): [1, 2, 3]]
        let decoded = try KRPCMessage.decode(message.encoded())
        #expect(decoded.transactionID == Array("aa".utf8))
        #expect(decoded.kind == message.kind)
        #expect(decoded.extensions == [Array("plx".utf8): [1, 2, 3]])
        var query = KRPCMessage.Query(id: me, method: .findNode(target: target))
        query.extraArguments = [Array("target".utf8): "bogus", Array("id".utf8): "bogus"]
        let encoded = KRPCMessage(transactionID: [1], kind: .query(query)).encoded()
        guard case .query(let back) = try KRPCMessage.decode(encoded).kind else { Issue.record("not a query"); return }
        #expect(back.method == .findNode(target: target) && back.id == me && back.extraArguments.isEmpty)
    }

    @Test func theCoordinateKeyIsTypedAndAMalformedOneIsIgnored() throws {
        var message = KRPCMessage(transactionID: Array("aa".utf8), kind: .query(.init(id: me, method: .ping)))
        message.coordinate = VivaldiReport(integers: [1_500, -2_000, 10, 250_000])
        let encoded = message.encoded()
        #expect(String(decoding: encoded, as: UTF8.self).contains("3:plcli1500ei-2000ei10ei250000ee1:q"))
        let decoded = try KRPCMessage.decode(encoded)
        #expect(decoded.coordinate == message.coordinate && decoded.extensions.isEmpty)
        // Not a list of integers, an error of 0, too many entries: ignored, never kept as an extension.
        for bad: BencodeValue in ["x", [1, 2, 0], .list(Array(repeating: 1, count: 17))] {
            message.coordinate = nil
            message.extensions = [KRPCMessage.coordinateKey: bad]
            let back = try KRPCMessage.decode(message.encoded())
            #expect(back.coordinate == nil && back.extensions.isEmpty)
        }
    }

    /// Potluck's `plnc` (spec 0013 §4.2): six bytes per returned contact, in key order after
    /// `nodes6`, read back typed and never kept as an unknown field.
    @Test func nodeCoordinatesRideBesideTheContacts() throws {
        let contacts = [NodeContact(id: me, endpoint: Endpoint(address: .v4(0x0A00_0001), port: 6881)),
                        NodeContact(id: .max, endpoint: Endpoint(address: .v4(0x0A00_0002), port: 6882))]
        let coordinates = [PackedCoordinate(x: 1, y: -1, height: 2), .unknown]
        let response = KRPCMessage.Response(id: me, nodes: contacts, nodeCoordinates: coordinates)
        let encoded = KRPCMessage(transactionID: Array("aa".utf8), kind: .response(response)).encoded()
        var nodesThenCoordinates = Array("5:nodes52:".utf8)
        for contact in contacts { contact.appendCompact(to: &nodesThenCoordinates) }
        nodesThenCoordinates += Array("4:plnc12:".utf8) + [0, 1, 0xFF, 0xFF, 0, 2, 0, 0, 0, 0, 0, 0]
        let found = (0...(encoded.count - nodesThenCoordinates.count)).contains {
            encoded[$0..<($0 + nodesThenCoordinates.count)].elementsEqual(nodesThenCoordinates)
        }
        #expect(found, "the coordinates follow the contacts, six bytes each")
        let decoded = try KRPCMessage.decode(encoded)
        guard case .response(let back) = decoded.kind else { Issue.record("not a response"); return }
        #expect(back.nodes == contacts && back.nodeCoordinates == coordinates && back.extraFields.isEmpty)
    }

    @Test func strictSendKeepsAddressFamiliesApart() throws {
        let v4 = NodeContact(id: target, endpoint: Endpoint("192.0.2.1:1")!)
        let v6 = NodeContact(id: me, endpoint: Endpoint("[2001:db8::1]:2")!)
        let response = KRPCMessage.Response(id: me, nodes: [v4, v6], nodes6: [v6, v4])
        let encoded = KRPCMessage(transactionID: [1], kind: .response(response)).encoded()
        let fields = try #require(BencodeDecoder().decode(encoded)["r"])
        #expect(fields["nodes"]?.bytes?.count == 26)
        #expect(fields["nodes6"]?.bytes?.count == 38)
        guard case .response(let back) = try KRPCMessage.decode(encoded).kind else { Issue.record("not a response"); return }
        #expect(back.nodes == [v4] && back.nodes6 == [v6])
    }

    @Test func optionalFlagsAreOnlySentWhenSet() {
        let announce = KRPCMessage.AnnouncePeer(infoHash: target, port: 6881, token: [1])
        let text = String(decoding: KRPCMessage(transactionID: [1], kind: .query(.init(id: me, method: .announcePeer(announce)))).encoded(), as: UTF8.self)
        #expect(!text.contains("implied_port") && !text.contains("seed") && !text.contains("want") && !text.contains("2:ro"))
        let readOnly = KRPCMessage(transactionID: [1], kind: .query(.init(id: me, method: .ping, want: [.n6, .n4])), readOnly: true)
        let flagged = String(decoding: readOnly.encoded(), as: UTF8.self)
        #expect(flagged.contains("2:roi1e") && flagged.contains("4:wantl2:n42:n6e"))
    }

    @Test func putValueIsKeptByteForByte() throws {
        // Non-canonical bencode inside v (leading zero, unsorted keys) is what was signed: keep it.
        let datagram = "d1:ad2:id20:abcdefghij01234567895:token2:tk1:vd1:zi03e1:ai1eee1:q3:put1:t2:aa1:y1:qe"
        guard case .query(let query) = try decode(datagram).kind, case .put(let put) = query.method else {
            Issue.record("not a put"); return
        }
        #expect(put.value == Array("d1:zi03e1:ai1ee".utf8))
        #expect(put.mutable == nil)
        #expect(try KRPCMessage.decode(Array(datagram.utf8)).encoded() == Array(datagram.utf8))
    }

    @Test func oversizedDatagramIsRejectedBeforeParsing() {
        let datagram = [UInt8](repeating: UInt8(ascii: "d"), count: KRPCMessage.maxDatagramLength + 1)
        #expect(throws: KRPCDecodeError.self) { try KRPCMessage.decode(datagram) }
        do { _ = try KRPCMessage.decode(datagram) } catch { #expect(error.code == .tooLong) }
    }

    @Test func decodeErrorsNameTheKey() {
        do {
            _ = try decode("d1:ad2:id20:abcdefghij01234567896:target3:abce1:q9:find_node1:t2:xy1:y1:qe")
            Issue.record("decoded a 3-byte target")
        } catch {
            #expect(error.code == .badTarget)
            #expect(error.message.contains("target") && error.message.contains("3 bytes"))
            #expect(error.transactionID == Array("xy".utf8))
            #expect(error.description.hasPrefix("badTarget"))
        }
    }
}
