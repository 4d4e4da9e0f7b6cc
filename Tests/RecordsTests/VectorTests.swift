import Bencode
import PotluckCrypto
import Foundation
import Records
import Testing

/// `spec/vectors/records.json`. Set POTLUCK_WRITE_VECTORS=1 to (re)write it from the seeds.
private let vectors: RecordVectors? = {
    let url = vectorURL("records.json")
    if ProcessInfo.processInfo.environment["POTLUCK_WRITE_VECTORS"] == "1" {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try? (encoder.encode(VectorFactory.make()) + [0x0a]).write(to: url)
    }
    guard let data = try? Data(contentsOf: url) else { return nil }
    return try? JSONDecoder().decode(RecordVectors.self, from: data)
}()

@Suite("records vectors (spec/0011-records.md §8)")
struct VectorTests {
    @Test func theFileMatchesWhatTheSeedsProduce() throws {
        let file = try #require(vectors)
        #expect(file == VectorFactory.make())
        #expect(file.receiptRejections.count == 9)
        #expect(file.offerRejections.count == 12)
    }

    @Test func theOfferEncodesAndDecodesToTheVectorBytes() throws {
        let file = try #require(vectors)
        let offer = VectorFactory.offer(file.offer.fields)
        #expect(try hex(offer.encoded()) == file.offer.encoded)
        #expect(try Offer(encoded: hexBytes(file.offer.encoded)) == offer)
        #expect(file.offer.salt == "potluck-offer-0")
        #expect(file.provider.publicKey == offer.lender.hex)
        #expect(file.provider.peerID == "pl16adfsqvzky9t042tlmfujeq88g8wzuhnm2nzxfd0qgdx3ac82ydqz3z48a")
    }

    @Test func theReceiptHasTheVectorSignedBytesSignaturesAndID() throws {
        let file = try #require(vectors)
        let v = file.receipt
        let body = VectorFactory.body(v.fields)
        #expect(hex(body.signedBytes) == v.signedBytes)
        #expect(v.signedBytes == hex(Array("potluck-receipt-v1".utf8)) + v.body)
        #expect(Blake2b.hash256(hexBytes(v.signedBytes)).hex == v.id)
        let receipt = try Receipt(encoded: hexBytes(v.encoded))
        #expect(receipt.body == body)
        #expect(receipt.id.hex == v.id)
        #expect(hex(receipt.providerSignature!.bytes) == v.providerSignature)
        #expect(hex(receipt.consumerSignature!.bytes) == v.consumerSignature)
        try receipt.validateComplete()
        #expect(hex(receipt.encoded()) == v.encoded)
    }

    /// A relay's receipt (spec 0021 §5.5) carries `r`; a job's never does, so its bytes are
    /// those it always had; trust counts 1 MiB relayed as one core-second.
    @Test func theRelayReceiptCarriesItsBytesAndCountsAsCompute() throws {
        let file = try #require(vectors)
        let v = file.relayReceipt
        #expect(v.body.contains(hex(Array("1:ri5242880e".utf8))))
        #expect(!file.receipt.body.contains(hex(Array("1:ri".utf8))))
        let receipt = try Receipt(encoded: hexBytes(v.encoded))
        #expect(receipt.body == VectorFactory.body(v.fields) && receipt.body.relayedBytes == 5 << 20)
        try receipt.validateComplete()
        #expect(receipt.body.creditCoreSeconds == 5)
        // `r` = 0 has one encoding, without the key: written out, it is refused.
        var entries = try #require(BencodeDecoder().decode(hexBytes(v.body)).dictionary)
        entries[Array("r".utf8)] = .integer(0)
        #expect(throws: RecordError.self) { try ReceiptBody(value: .dictionary(entries)) }
    }

    @Test("each bad receipt is refused with its reason", arguments: vectors?.receiptRejections ?? [])
    func receiptRejection(_ vector: RecordVectors.Rejection) throws {
        let good = try Receipt(encoded: hexBytes(try #require(vectors).receipt.encoded))
        let error = #expect(throws: RecordError.self) {
            let receipt = try Receipt(encoded: hexBytes(vector.encoded))
            if vector.check == "ledger" {
                var ledger = ReceiptLedger()
                try ledger.insert(good)
                try ledger.insert(receipt)
            } else {
                try receipt.validateComplete()
            }
        }
        #expect(error?.code.rawValue == vector.code, "\(error?.message ?? "")")
        #expect(error?.field == vector.field)
        #expect(error?.message.isEmpty == false)
    }

    @Test("each bad offer is refused with its reason and field", arguments: vectors?.offerRejections ?? [])
    func offerRejection(_ vector: RecordVectors.OfferRejection) {
        let error = #expect(throws: RecordError.self) { try Offer(encoded: hexBytes(vector.encoded)) }
        #expect(error?.code.rawValue == vector.code, "\(error?.message ?? "")")
        #expect(error?.field == vector.field)
    }
}
