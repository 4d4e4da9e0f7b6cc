// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import Bencode
import PotluckCrypto

/// A receipt id: BLAKE2b-256 of the receipt's signed bytes (`spec/0011-records.md` §3.3).
public typealias ReceiptID = Bytes32

/// What a reciprocity receipt says: provider P computed for consumer C (`spec/0011-records.md`
/// §3). Both parties sign exactly `signedBytes`.
///
/// This is the "favor" of OurGrid's Network of Favors (Andrade et al. 2004) and the transfer
/// record of BarterCast (Meulpolder et al. 2009), made bilateral: a record only counts when the
/// party that received the work signed it too.
public struct ReceiptBody: Sendable, Hashable {
    /// The format version this implementation writes and reads.
    public static let formatVersion: Int64 = 1
    /// The domain-separation prefix of the signed bytes.
    public static let domain: [UInt8] = Array("potluck-receipt-v1".utf8)

    /// Who computed.
    public var provider: PublicKey
    /// For whom.
    public var consumer: PublicKey
    /// BLAKE2b-256 of the job (its module and input, as the job channel defines).
    public var jobDigest: Bytes32
    /// CPU time used, in core-milliseconds (one core busy for one second is 1000).
    public var coreMilliseconds: Int64
    /// Memory held over time, in byte-seconds.
    public var memoryByteSeconds: Int64
    /// When the work started, Unix milliseconds.
    public var start: Int64
    /// When it ended, Unix milliseconds; not before `start`.
    public var end: Int64
    /// The receipt counter of the ordered pair (provider, consumer), from 1: at most one
    /// receipt per pair and number (§3.4).
    public var sequence: Int64
    /// Bytes the provider relayed for the consumer (`spec/0021-reachability.md` §5.5): a
    /// relay's gift, counted as compute at ``relayedBytesPerCoreSecond``; 0 for a job.
    public var relayedBytes: Int64

    /// Relayed bytes that count as one core-second of compute in trust (§3.1): 1 MiB.
    public static let relayedBytesPerCoreSecond: Int64 = 1 << 20

    /// What trust counts: the CPU time, plus relayed bytes at ``relayedBytesPerCoreSecond``.
    public var creditCoreSeconds: Double {
        Double(coreMilliseconds) / 1000 + Double(relayedBytes) / Double(Self.relayedBytesPerCoreSecond)
    }

    /// A receipt body.
    public init(
        provider: PublicKey, consumer: PublicKey, jobDigest: Bytes32, coreMilliseconds: Int64,
        memoryByteSeconds: Int64, start: Int64, end: Int64, sequence: Int64, relayedBytes: Int64 = 0
    ) {
        self.provider = provider
        self.consumer = consumer
        self.jobDigest = jobDigest
        self.coreMilliseconds = coreMilliseconds
        self.memoryByteSeconds = memoryByteSeconds
        self.start = start
        self.end = end
        self.sequence = sequence
        self.relayedBytes = relayedBytes
    }

    /// The body's bencoded dictionary (§3.1).
    /// `r` only when bytes were relayed, so a job's receipt has the nine keys it always had.
    public var value: BencodeValue {
        var entries: [[UInt8]: BencodeValue] = [
            Array("c".utf8): .bytes(consumer.bytes), Array("e".utf8): .integer(end), Array("j".utf8): .bytes(jobDigest.bytes),
            Array("m".utf8): .integer(memoryByteSeconds), Array("n".utf8): .integer(sequence), Array("p".utf8): .bytes(provider.bytes),
            Array("s".utf8): .integer(start), Array("u".utf8): .integer(coreMilliseconds), Array("v".utf8): .integer(Self.formatVersion),
        ]
        if relayedBytes != 0 { entries[Array("r".utf8)] = .integer(relayedBytes) }
        return .dictionary(entries)
    }

    /// The bytes both parties sign: `potluck-receipt-v1` followed by the bencoded body (§3.2).
    public var signedBytes: [UInt8] { Self.domain + value.encoded() }

    /// The receipt id: BLAKE2b-256 of `signedBytes` (§3.3).
    public var id: ReceiptID { Blake2b.hash256(signedBytes) }

    /// The (provider, consumer, sequence) slot this receipt takes.
    public var slot: ReceiptSlot { ReceiptSlot(provider: provider, consumer: consumer, sequence: sequence) }

    /// Checks the figures (§3.5 rules 1–3); signatures are checked by `Receipt.validate()`.
    public func validate() throws(RecordError) {
        guard provider != consumer else {
            throw RecordError(.sameParty, field: "consumer",
                "the provider and the consumer are the same key; a peer cannot earn credit from itself")
        }
        guard end >= start else {
            throw RecordError(.endBeforeStart, field: "end",
                "the receipt ends (\(end) ms) before it starts (\(start) ms); send the times in the right order")
        }
        guard start >= 0 else { throw RecordError(.invalidValue, field: "start", "the receipt's start is negative") }
        guard coreMilliseconds >= 0, memoryByteSeconds >= 0, relayedBytes >= 0 else {
            throw RecordError(.invalidValue, field: "coreMilliseconds", "the receipt's usage figures must not be negative")
        }
        guard sequence >= 1 else {
            throw RecordError(.invalidValue, field: "sequence", "the receipt's sequence is \(sequence); pair counters start at 1")
        }
    }
}

/// The (provider, consumer, sequence) of a receipt: two different receipts in one slot are a fork.
public struct ReceiptSlot: Sendable, Hashable {
    /// Who computed.
    public var provider: PublicKey
    /// For whom.
    public var consumer: PublicKey
    /// The pair's receipt counter.
    public var sequence: Int64
    /// A slot.
    public init(provider: PublicKey, consumer: PublicKey, sequence: Int64) {
        self.provider = provider
        self.consumer = consumer
        self.sequence = sequence
    }
}

/// A receipt body with the signatures gathered so far (`spec/0011-records.md` §3).
///
/// It is **complete** when both parties signed, **pending** (one-sided) otherwise. A pending
/// receipt is kept but never counted.
public struct Receipt: Sendable, Hashable {
    /// The signed fields.
    public var body: ReceiptBody
    /// The provider's signature of `body.signedBytes`, if given.
    public var providerSignature: Signature?
    /// The consumer's signature of `body.signedBytes`, if given.
    public var consumerSignature: Signature?

    /// A receipt with the given signatures.
    public init(body: ReceiptBody, providerSignature: Signature? = nil, consumerSignature: Signature? = nil) {
        self.body = body
        self.providerSignature = providerSignature
        self.consumerSignature = consumerSignature
    }

    /// The receipt id (of the body; signatures are not part of it).
    public var id: ReceiptID { body.id }

    /// Whether both parties signed.
    public var isComplete: Bool { providerSignature != nil && consumerSignature != nil }

    /// This receipt with `key`'s signature added in the role `key` plays (provider or consumer).
    /// `key` must be one of the two parties.
    public func signed(by key: SigningKey) -> Receipt {
        var copy = self
        let signature = key.sign(body.signedBytes)
        if key.publicKey == body.provider { copy.providerSignature = signature }
        if key.publicKey == body.consumer { copy.consumerSignature = signature }
        precondition(key.publicKey == body.provider || key.publicKey == body.consumer,
            "only the provider or the consumer may sign a receipt")
        return copy
    }

    /// Checks the figures and every signature present (§3.5 rules 1–5); a pending receipt with a
    /// good signature passes. Use `validateComplete()` before counting a receipt.
    public func validate() throws(RecordError) {
        try validate(signedBytes: body.signedBytes)
    }

    /// `validate()` with the body's signed bytes already computed (they also give the id).
    func validate(signedBytes message: [UInt8]) throws(RecordError) {
        try body.validate()
        let providerOK = providerSignature.map { body.provider.isValidSignature($0, for: message) }
        let consumerOK = consumerSignature.map { body.consumer.isValidSignature($0, for: message) }
        switch (providerOK, consumerOK) {
        case (nil, nil):
            throw RecordError(.incomplete, "the receipt carries no signature at all; the provider signs first")
        case (false, false), (false, nil), (nil, false):
            throw RecordError(.tampered,
                "no signature on the receipt verifies: its fields were changed after signing; discard it")
        case (false, true):
            throw RecordError(.badProviderSignature, field: "providerSignature",
                "the provider's signature does not verify (the consumer's does); ask the provider to sign again")
        case (true, false):
            throw RecordError(.badConsumerSignature, field: "consumerSignature",
                "the consumer's signature does not verify (the provider's does); ask the consumer to countersign again")
        default: return
        }
    }

    /// `validate()`, then refuses a one-sided receipt with `incomplete`.
    public func validateComplete() throws(RecordError) {
        try validate()
        guard isComplete else {
            let missing = providerSignature == nil ? "provider" : "consumer"
            throw RecordError(.incomplete, field: missing + "Signature",
                "the receipt is pending: the \(missing) has not signed it, so it is never counted")
        }
    }
}
