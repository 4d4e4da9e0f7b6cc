// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Lending
import Trust

/// One receipt of the run: who gave whom how much, and when it ended. Identities are packed
/// `peer << 32 | generation`.
struct SimulatedReceipt {
    var provider: UInt64
    var consumer: UInt64
    var coreSeconds: Double
    var endedAt: UInt64
}

/// What one peer's node holds of the community's receipts under `trust.view = "node"`: the
/// receipts it is a party to, and those it gathered from borrowers that asked it for work.
struct PeerLedger {
    var graph = WorkGraph()
    /// The run's receipt numbers it holds.
    var held = Set<Int32>()
    /// Its snapshot, and the trust tick it was made at.
    var snapshot: WorkSnapshot?
    var snapshotTick = -1
    var changed = false
    /// When it gathers a borrower identity (the node's rule).
    var gathering = ReceiptGathering<UInt64>()
}

extension LendingSimulation {
    /// How many receipts an index lists (`ControlHandler.receiptIndexCapacity`, `spec/0011`
    /// Appendix A).
    static let indexCapacity = 45
    /// How often a node publishes its index (`--receipts-interval`'s default, 5 minutes).
    static let publishEvery: UInt64 = 300_000_000_000

    static func identity(_ peer: UInt32, _ generation: UInt32) -> UInt64 { UInt64(peer) << 32 | UInt64(generation) }

    /// Counts `coreSeconds` of work `provider` gave `consumer`, ended now: in the community's
    /// graph, in the run's receipt log, and (view `node`) in both parties' ledgers. `pinned`
    /// receipts — the attackers' fakes — stay in their signers' published index however old:
    /// an attacker re-signs them with fresh dates.
    func record(provider: (peer: UInt32, generation: UInt32), consumer: (peer: UInt32, generation: UInt32),
                coreSeconds: Double, pinned: Bool = false) {
        let endedAt = now / 1_000_000
        graph.addWork(provider: key(provider.peer, provider.generation), consumer: key(consumer.peer, consumer.generation),
                      coreSeconds: coreSeconds, endedAt: Int64(endedAt))
        guard lending.view == .node, provider.peer != consumer.peer || provider.generation != consumer.generation else { return }
        let number = Int32(receiptLog.count)
        let from = Self.identity(provider.peer, provider.generation), to = Self.identity(consumer.peer, consumer.generation)
        receiptLog.append(SimulatedReceipt(provider: from, consumer: to, coreSeconds: coreSeconds, endedAt: now))
        for party in [from, to] {
            if pinned { pinnedReceipts[party, default: []].append(number) } else { receiptsOf[party, default: []].append(number) }
        }
        hold(number, in: Int(provider.peer))
        if consumer.peer != provider.peer { hold(number, in: Int(consumer.peer)) }
    }

    /// Lender `peer` gathers what `borrower` had published, as the node's ``ReceiptGathering``
    /// allows.
    func gather(_ borrower: UInt64, by peer: Int) {
        guard lending.view == .node, ledgers[peer].gathering.gathers(borrower, at: .nanoseconds(Int64(now))) else { return }
        metrics.gatherings += 1
        for number in published(by: borrower) { hold(number, in: peer) }
    }

    /// The receipts `identity`'s index listed at its last publication: its pinned ones, then its
    /// latest, at most ``indexCapacity`` in all.
    func published(by identity: UInt64) -> [Int32] {
        let pinned = (pinnedReceipts[identity] ?? []).prefix(Self.indexCapacity)
        let lastPublication = now - now % Self.publishEvery
        let room = Self.indexCapacity - pinned.count
        var latest: [Int32] = []
        for number in (receiptsOf[identity] ?? []).reversed() {
            guard latest.count < room else { break }
            if receiptLog[Int(number)].endedAt <= lastPublication { latest.append(number) }
        }
        return Array(pinned) + latest
    }

    private func hold(_ number: Int32, in peer: Int) {
        guard ledgers[peer].held.insert(number).inserted else { return }
        let receipt = receiptLog[Int(number)]
        let provider = key(UInt32(receipt.provider >> 32), UInt32(truncatingIfNeeded: receipt.provider))
        let consumer = key(UInt32(receipt.consumer >> 32), UInt32(truncatingIfNeeded: receipt.consumer))
        ledgers[peer].graph.addWork(provider: provider, consumer: consumer, coreSeconds: receipt.coreSeconds,
                                    endedAt: Int64(receipt.endedAt / 1_000_000))
        ledgers[peer].changed = true
    }

    /// `peer`'s snapshot of what it holds, made again at most once a trust tick (as the
    /// community's snapshot is; a node makes it again when a receipt arrives).
    func ledgerSnapshot(of peer: Int) -> WorkSnapshot {
        let ledger = ledgers[peer]
        if ledger.snapshot == nil || (ledger.snapshotTick != trustTicks && (ledger.changed || lending.decayHalfLife != nil)) {
            ledgers[peer].snapshot = ledger.graph.snapshot(now: Int64(now / 1_000_000), halfLifeSeconds: lending.decayHalfLife)
            ledgers[peer].snapshotTick = trustTicks
            ledgers[peer].changed = false
            metrics.ledgerSnapshots += 1
        }
        return ledgers[peer].snapshot ?? snapshot
    }
}
