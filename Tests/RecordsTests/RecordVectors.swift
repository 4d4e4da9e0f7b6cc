import Bencode
import PotluckCrypto
import Foundation
import Records

/// The shape of `spec/vectors/records.json`.
struct RecordVectors: Codable, Equatable {
    struct Party: Codable, Equatable { var seed, publicKey, peerID: String }
    struct OfferFields: Codable, Equatable {
        var cores: Int, memoryBytes: Int64, runtimes: [String], windows: [String], idleOnly: Bool
        var allowed: [String], denied: [String], friendCount: Int
        var endpoint: String, coordinates: [Double]?, expiry: Int64, slot: Int
    }
    struct OfferVector: Codable, Equatable { var fields: OfferFields, salt: String, encoded: String }
    struct ReceiptFields: Codable, Equatable {
        var jobDigest: String, coreMilliseconds: Int64, memoryByteSeconds: Int64
        var start: Int64, end: Int64, sequence: Int64
        /// Only in a relay's receipt (spec 0021 §5.5).
        var relayedBytes: Int64? = nil
    }
    struct ReceiptVector: Codable, Equatable {
        var fields: ReceiptFields
        var body: String, signedBytes: String, providerSignature: String, consumerSignature: String
        var id: String, encoded: String
    }
    /// `check` is `validate-complete` (decode, verify, require both signatures) or `ledger`
    /// (insert into a ledger already holding the main receipt).
    struct Rejection: Codable, Equatable { var name, check, encoded, code: String, field: String? }
    struct OfferRejection: Codable, Equatable { var name, encoded, code: String, field: String? }

    var source: String
    var provider, consumer, other: Party
    var offer: OfferVector
    var receipt: ReceiptVector
    /// A relay's receipt: TEST 1 relayed 5 MiB for TEST 2 (`r`, no CPU).
    var relayReceipt: ReceiptVector
    var receiptRejections: [Rejection]
    var offerRejections: [OfferRejection]
}

/// Builds every vector from the RFC 8032 seeds; the vector test compares it with the file.
enum VectorFactory {
    static func party(_ seed: String) -> RecordVectors.Party {
        let k = key(seed)
        return .init(seed: seed, publicKey: k.publicKey.hex, peerID: k.publicKey.peerID)
    }

    static let offerFields = RecordVectors.OfferFields(
        cores: 2, memoryBytes: 4 << 30, runtimes: ["wasm32-wasi"], windows: ["22:00-06:00", "12:00-13:30"],
        idleOnly: true, allowed: [], denied: [key(Seeds.other).publicKey.hex], friendCount: 3,
        endpoint: "udp://203.0.113.5:6881", coordinates: [12.5, -3.25, 0.5], expiry: 1_767_225_600, slot: 0)

    static func offer(_ f: RecordVectors.OfferFields) -> Offer {
        Offer(lender: key(Seeds.provider).publicKey, cores: f.cores, memoryBytes: f.memoryBytes, runtimes: f.runtimes,
              windows: f.windows.map { TimeWindow($0)! }, idleOnly: f.idleOnly,
              policy: OfferPolicy(allowed: f.allowed.map { try! PublicKey(bytes: hexBytes($0)) },
                                  denied: f.denied.map { try! PublicKey(bytes: hexBytes($0)) }, friendCount: f.friendCount),
              endpoint: f.endpoint, coordinates: f.coordinates, expiry: f.expiry)
    }

    static let receiptFields = RecordVectors.ReceiptFields(
        jobDigest: Blake2b.hash256(Array("potluck vector job".utf8)).hex, coreMilliseconds: 7_200_000,
        memoryByteSeconds: 3_865_470_566_400, start: 1_767_225_600_000, end: 1_767_229_200_000, sequence: 1)

    static func body(_ f: RecordVectors.ReceiptFields, provider: String = Seeds.provider,
                     consumer: String = Seeds.consumer) -> ReceiptBody {
        ReceiptBody(provider: key(provider).publicKey, consumer: key(consumer).publicKey,
                    jobDigest: Bytes32(hexBytes(f.jobDigest))!, coreMilliseconds: f.coreMilliseconds,
                    memoryByteSeconds: f.memoryByteSeconds, start: f.start, end: f.end, sequence: f.sequence,
                    relayedBytes: f.relayedBytes ?? 0)
    }

    static func bothSigned(_ body: ReceiptBody, provider: String = Seeds.provider, consumer: String = Seeds.consumer) -> Receipt {
        Receipt(body: body).signed(by: key(provider)).signed(by: key(consumer))
    }

    static let relayReceiptFields = RecordVectors.ReceiptFields(
        jobDigest: Blake2b.hash256(Array("potluck relay circuit v1".utf8) + [0, 0, 0, 0, 0, 0, 0, 1]).hex, coreMilliseconds: 0,
        memoryByteSeconds: 0, start: 1_767_225_600_000, end: 1_767_225_660_000, sequence: 1, relayedBytes: 5 << 20)

    static func vector(_ fields: RecordVectors.ReceiptFields) -> (Receipt, RecordVectors.ReceiptVector) {
        let receipt = bothSigned(body(fields))
        return (receipt, RecordVectors.ReceiptVector(
            fields: fields, body: hex(receipt.body.value.encoded()), signedBytes: hex(receipt.body.signedBytes),
            providerSignature: hex(receipt.providerSignature!.bytes), consumerSignature: hex(receipt.consumerSignature!.bytes),
            id: receipt.id.hex, encoded: hex(receipt.encoded())))
    }

    static func make() -> RecordVectors {
        let offer = offer(offerFields)
        let offerBytes = try! offer.encoded()
        let (receipt, vector) = vector(receiptFields)
        return RecordVectors(
            source: "Potluck spec/0011-records.md section 8; keys are RFC 8032 section 7.1 TEST 1 (provider), TEST 2 (consumer), TEST 3 (other)",
            provider: party(Seeds.provider), consumer: party(Seeds.consumer), other: party(Seeds.other),
            offer: .init(fields: offerFields, salt: String(decoding: Offer.salt(slot: 0), as: UTF8.self), encoded: hex(offerBytes)),
            receipt: vector, relayReceipt: Self.vector(relayReceiptFields).1, receiptRejections: receiptRejections(receipt), offerRejections: offerRejections(offerBytes))
    }

    static func receiptRejections(_ good: Receipt) -> [RecordVectors.Rejection] {
        var tampered = good
        tampered.body.coreMilliseconds += 1000
        var badProvider = good
        badProvider.providerSignature = key(Seeds.other).sign(good.body.signedBytes)
        var badConsumer = good
        badConsumer.consumerSignature = key(Seeds.other).sign(good.body.signedBytes)
        let oneSided = Receipt(body: good.body).signed(by: key(Seeds.provider))
        var forkedFields = receiptFields
        forkedFields.coreMilliseconds = 9_000_000
        var backwards = receiptFields
        backwards.end = backwards.start - 1
        let selfBody = body(receiptFields, consumer: Seeds.provider)
        let selfReceipt = Receipt(body: selfBody, providerSignature: key(Seeds.provider).sign(selfBody.signedBytes),
                                  consumerSignature: key(Seeds.provider).sign(selfBody.signedBytes))
        func r(_ name: String, _ check: String, _ receipt: Receipt, _ code: RecordError.Code, _ field: String?) -> RecordVectors.Rejection {
            .init(name: name, check: check, encoded: hex(receipt.encoded()), code: code.rawValue, field: field)
        }
        return [
            r("core-milliseconds changed after signing", "validate-complete", tampered, .tampered, nil),
            r("provider signature made by another key", "validate-complete", badProvider, .badProviderSignature, "providerSignature"),
            r("consumer signature made by another key", "validate-complete", badConsumer, .badConsumerSignature, "consumerSignature"),
            r("signed by the provider only", "validate-complete", oneSided, .incomplete, "consumerSignature"),
            r("end one millisecond before start", "validate-complete", bothSigned(body(backwards)), .endBeforeStart, "end"),
            r("provider is the consumer", "validate-complete", selfReceipt, .sameParty, "consumer"),
            r("the same receipt again", "ledger", good, .replayed, "sequence"),
            r("another receipt with sequence 1", "ledger", bothSigned(body(forkedFields)), .forked, "sequence"),
            r("a one-sided receipt with sequence 1", "ledger", Receipt(body: body(forkedFields)).signed(by: key(Seeds.provider)), .forked, "sequence"),
        ]
    }

    static func offerRejections(_ good: [UInt8]) -> [RecordVectors.OfferRejection] {
        func o(_ name: String, _ bytes: [UInt8], _ code: RecordError.Code, _ field: String?) -> RecordVectors.OfferRejection {
            .init(name: name, encoded: hex(bytes), code: code.rawValue, field: field)
        }
        let long = BencodeValue.bytes([UInt8](repeating: 0x61, count: 990))
        return [
            o("zero cores", edited(good, "c", 0), .invalidValue, "cores"),
            o("cores as a string", edited(good, "c", "2"), .wrongType, "cores"),
            o("no expiry", edited(good, "x", nil), .missingField, "expiry"),
            o("a window 24:00-01:00", edited(good, "w", ["24:00-01:00"]), .invalidValue, "windows"),
            o("a runtime with capitals", edited(good, "r", ["WASM"]), .invalidValue, "runtimes"),
            o("an unknown key", edited(good, "z", 1), .unknownField, "z"),
            o("format version 2", edited(good, "v", 2), .unsupportedVersion, "version"),
            o("coordinates of 7 bytes", edited(good, "n", .bytes([1, 2, 3, 4, 5, 6, 7])), .invalidValue, "coordinates"),
            o("over 1000 bytes", edited(good, "e", long), .tooLarge, nil),
            o("runtimes out of order", edited(good, "r", ["wasm32-wasi", "native"]), .invalidValue, nil),
            o("busy since time 0", edited(good, "b", 0), .invalidValue, "busySince"),
            o("busy, from a lender that is not idle-only", edited(edited(good, "i", 0), "b", 1_767_225_000), .invalidValue, "busySince"),
        ]
    }
}
