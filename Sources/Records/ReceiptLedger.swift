// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import PotluckCrypto

/// An in-memory ledger of receipts (`spec/0011-records.md` §4): it verifies every receipt,
/// refuses replays and forks per ordered pair, keeps one-sided (pending) receipts apart where
/// they never count, and indexes complete receipts by peer. Pure: the node persists what it
/// accepts (LMDB) and rebuilds the ledger from it.
///
/// Sequence gaps are allowed (§3.4): a peer usually knows only some of a pair's receipts.
public struct ReceiptLedger: Sendable {
    /// What an accepted receipt became.
    public enum Insertion: Sendable, Hashable {
        /// A complete receipt, now counted.
        case complete
        /// A one-sided receipt, kept apart and never counted.
        case pending
        /// The missing signature of a held pending receipt: now complete and counted.
        case completedPending
    }

    private var complete: [ReceiptID: Receipt] = [:]
    private var slots: [ReceiptSlot: ReceiptID] = [:]
    private var pending: [ReceiptSlot: Receipt] = [:]
    private var byPeer: [PublicKey: [ReceiptID]] = [:]
    private var highest: [PairKey: Int64] = [:]

    private struct PairKey: Hashable { let provider, consumer: PublicKey }

    /// An empty ledger.
    public init() {}

    /// Complete receipts held.
    public var count: Int { complete.count }
    /// Pending receipts held.
    public var pendingCount: Int { pending.count }

    /// Verifies `receipt` and keeps it, or refuses it with the reason: a `validate()` error, or
    /// `replayed` (this receipt is already held) or `forked` (another receipt holds its slot).
    @discardableResult
    public mutating func insert(_ receipt: Receipt) throws(RecordError) -> Insertion {
        try insert(receipt, signaturesVerified: false)
    }

    /// `insert`, skipping the signature checks when `signaturesVerified`: for receipts read back
    /// from a store that only ever wrote receipts a ledger had verified (a node's own LMDB).
    /// Replay and fork checks still apply.
    @discardableResult
    public mutating func insert(_ receipt: Receipt, signaturesVerified: Bool) throws(RecordError) -> Insertion {
        let message = receipt.body.signedBytes  // encoded once: checked by both signatures, hashed into the id
        if signaturesVerified {
            try receipt.body.validate()
        } else {
            try receipt.validate(signedBytes: message)
        }
        let id = Blake2b.hash256(message), slot = receipt.body.slot
        if let held = slots[slot] {
            throw held == id ? Self.replayed(receipt) : Self.forked(receipt)
        }
        if receipt.isComplete {
            let hadPending = pending.removeValue(forKey: slot) != nil
            store(receipt, id: id, slot: slot)
            return hadPending ? .completedPending : .complete
        }
        guard let held = pending[slot] else {
            pending[slot] = receipt
            return .pending
        }
        guard held.id == id else { throw Self.forked(receipt) }
        let merged = Receipt(
            body: held.body, providerSignature: held.providerSignature ?? receipt.providerSignature,
            consumerSignature: held.consumerSignature ?? receipt.consumerSignature)
        guard merged.isComplete else { throw Self.replayed(receipt) }
        pending[slot] = nil
        store(merged, id: id, slot: slot)
        return .completedPending
    }

    private mutating func store(_ receipt: Receipt, id: ReceiptID, slot: ReceiptSlot) {
        complete[id] = receipt
        slots[slot] = id
        byPeer[slot.provider, default: []].append(id)
        byPeer[slot.consumer, default: []].append(id)
        let pair = PairKey(provider: slot.provider, consumer: slot.consumer)
        highest[pair] = max(highest[pair] ?? 0, slot.sequence)
    }

    private static func replayed(_ receipt: Receipt) -> RecordError {
        RecordError(.replayed, field: "sequence",
            "receipt \(receipt.id.hex) (sequence \(receipt.body.sequence)) is already known; nothing to do")
    }

    private static func forked(_ receipt: Receipt) -> RecordError {
        RecordError(.forked, field: "sequence",
            "another receipt from \(receipt.body.provider.peerID) to \(receipt.body.consumer.peerID) already has "
                + "sequence \(receipt.body.sequence); one of its signers signed two receipts with one number")
    }

    /// The complete receipt with this id, if held.
    public func receipt(id: ReceiptID) -> Receipt? { complete[id] }

    /// The pending receipt in this slot, if held.
    public func pendingReceipt(in slot: ReceiptSlot) -> Receipt? { pending[slot] }

    /// Complete receipts where `peer` is provider or consumer, by start time then id.
    public func receipts(involving peer: PublicKey) -> [Receipt] {
        Self.ordered((byPeer[peer] ?? []).compactMap { complete[$0] })
    }

    /// Every complete receipt, by start time then id.
    public var completeReceipts: [Receipt] { Self.ordered(Array(complete.values)) }

    /// Every pending receipt, by start time then id.
    public var pendingReceipts: [Receipt] { Self.ordered(Array(pending.values)) }

    /// The highest sequence of a complete receipt from `provider` to `consumer`, 0 if none.
    public func highestSequence(provider: PublicKey, consumer: PublicKey) -> Int64 {
        highest[PairKey(provider: provider, consumer: consumer)] ?? 0
    }

    /// The sequences of the pair `provider` → `consumer` that a receipt held here takes,
    /// complete or pending: a consumer countersigns none of them again (§6.2 rule 6).
    public func sequences(provider: PublicKey, consumer: PublicKey) -> Set<Int64> {
        var taken = Set((byPeer[consumer] ?? []).lazy.compactMap { self.complete[$0]?.body }
            .filter { $0.provider == provider && $0.consumer == consumer }.map(\.sequence))
        for slot in pending.keys where slot.provider == provider && slot.consumer == consumer { taken.insert(slot.sequence) }
        return taken
    }

    /// The sequence a provider should propose next to `consumer`: one above every receipt of the
    /// pair it holds, complete or still pending (§3.4), so a proposal never takes a held slot.
    public func nextSequence(provider: PublicKey, consumer: PublicKey) -> Int64 {
        let pendingHighest = pending.keys.lazy.filter { $0.provider == provider && $0.consumer == consumer }.map(\.sequence).max() ?? 0
        return max(highestSequence(provider: provider, consumer: consumer), pendingHighest) + 1
    }

    private static func ordered(_ receipts: [Receipt]) -> [Receipt] {
        receipts.map { ($0, $0.id.bytes) }.sorted { a, b in
            a.0.body.start != b.0.body.start
                ? a.0.body.start < b.0.body.start : a.1.lexicographicallyPrecedes(b.1)
        }.map(\.0)
    }
}
