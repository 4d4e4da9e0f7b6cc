// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import PotluckCrypto
import Records

/// The graph of work given (`spec/0012-trust.md` §1): an edge provider → consumer for every
/// complete receipt, weighted by its core-seconds. This is BarterCast's "subjective graph"
/// (Meulpolder et al. 2009) built from bilateral receipts instead of one-sided reports.
///
/// The graph only accumulates; `snapshot(now:halfLife:)` freezes it at one instant (fading
/// applied, peers in a canonical order) for queries.
public struct WorkGraph: Sendable {
    struct Contribution: Sendable {
        var from: Int32, to: Int32
        var endMilliseconds: Int64
        var coreSeconds: Double
    }

    private(set) var keys: [PublicKey] = []
    private var index: [PublicKey: Int32] = [:]
    private(set) var contributions: [Contribution] = []
    private var slots: [ReceiptSlot: ReceiptID] = [:]

    /// An empty graph.
    public init() {}

    /// The graph of a ledger's complete receipts (already verified by the ledger).
    public init(ledger: ReceiptLedger) {
        for receipt in ledger.completeReceipts { insert(receipt) }
    }

    /// Peers that appear in at least one edge.
    public var peerCount: Int { keys.count }
    /// Receipts (or work records) counted.
    public var receiptCount: Int { contributions.count }

    /// Counts a complete receipt after checking it: one-sided ones are refused with
    /// `incomplete`, bad signatures and figures with their `validate()` reason, the same receipt
    /// twice with `replayed`, two receipts in one slot with `forked`.
    public mutating func add(_ receipt: Receipt) throws(RecordError) {
        try receipt.validateComplete()
        if let held = slots[receipt.body.slot] {
            throw RecordError(held == receipt.id ? .replayed : .forked, field: "sequence",
                held == receipt.id ? "this receipt is already counted" : "another receipt holds this pair and sequence")
        }
        insert(receipt)
    }

    private mutating func insert(_ receipt: Receipt) {
        slots[receipt.body.slot] = receipt.id
        let body = receipt.body
        addWork(provider: body.provider, consumer: body.consumer,
                coreSeconds: body.creditCoreSeconds, endedAt: body.end)
    }

    /// Counts work without a receipt: for simulations and benchmarks whose inputs are trusted.
    /// `endedAt` is Unix milliseconds. Work of a peer for itself, and non-positive amounts, are
    /// ignored.
    public mutating func addWork(provider: PublicKey, consumer: PublicKey, coreSeconds: Double, endedAt: Int64) {
        guard provider != consumer, coreSeconds > 0, coreSeconds.isFinite else { return }
        contributions.append(Contribution(
            from: intern(provider), to: intern(consumer), endMilliseconds: endedAt, coreSeconds: coreSeconds))
    }

    private mutating func intern(_ key: PublicKey) -> Int32 {
        if let known = index[key] { return known }
        let new = Int32(keys.count)
        keys.append(key)
        index[key] = new
        return new
    }

    /// The graph at `now` (Unix milliseconds): each receipt's weight is its core-seconds ×
    /// 2^(−age / halfLife), age = max(0, now − end) in seconds; no fading when `halfLife` is nil.
    public func snapshot(now: Int64, halfLifeSeconds: Double? = nil) -> WorkSnapshot {
        WorkSnapshot(graph: self, now: now, halfLifeSeconds: halfLifeSeconds)
    }
}
