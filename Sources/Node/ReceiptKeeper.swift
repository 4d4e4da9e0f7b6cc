import Foundation
import Kademlia
import Logging
import ControlAPI
import PotluckCrypto
import Lending
import Records

/// Moves this node's receipts without a command (`spec/0011-records.md` Appendix A): it publishes
/// them whenever its latest complete receipts changed (`potluck receipts publish`), and gathers
/// the published receipts of each borrower that still owes a countersignature to one of its
/// proposals (`potluck receipts sync PEER`). A borrower that held a proposal until its replicas'
/// vote (`spec/0019` §6.2) countersigns it later in its own ledger; this is how the lender's
/// half completes.
///
/// A borrower whose receipts brought nothing new is asked again after twice the wait (from
/// one interval up to a day), so a refused proposal costs little; proposals older than a week
/// are left pending.
///
/// It also gathers the published receipts of every borrower that asks this node for work
/// (``Askers``), as ``ReceiptGathering`` allows (once an hour each, 60 an hour): the lender's
/// line then ranks the borrower by the work it gave others too, not only by what passed between
/// the two (`spec/0012-trust.md` §3).
struct ReceiptKeeper {
    let service: DHTService
    let handler: ControlHandler
    let interval: Duration

    /// Proposals older than this are not chased.
    static let horizon: Duration = .seconds(7 * 86_400)
    /// The longest wait between two syncs of one borrower.
    static let longestWait: Duration = .seconds(86_400)
    /// The most borrowers synced in one round.
    static let borrowersPerRound = 8

    /// What the keeper remembers between rounds.
    struct Memory {
        /// The complete receipts last published (their ids), `nil` before the first publication.
        var published: Set<ReceiptID>?
        /// Per borrower owing a countersignature: when to sync it next, and the wait after that.
        var chase: [PublicKey: (next: ContinuousClock.Instant, wait: Duration)] = [:]
    }

    /// Runs until cancelled: one round every `interval` once the routing table has someone, and
    /// a gathering of each asker that comes out of `askers`.
    func run(gathering askers: AsyncStream<PublicKey>) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await gather(askers) }
            var memory = Memory()
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                guard await handler.inspect({ $0.status.routingTableSize }) ?? 0 > 0 else { continue }
                await round(&memory, now: .now)
            }
            group.cancelAll()
        }
    }

    /// Syncs each borrower that asked for work when ``ReceiptGathering`` says so.
    func gather(_ askers: AsyncStream<PublicKey>) async {
        var gathering = ReceiptGathering<PublicKey>()
        let start = ContinuousClock.now
        let me = service.identity.publicKey
        for await borrower in askers where borrower != me {
            guard gathering.gathers(borrower, at: .now - start) else { continue }
            guard let result = try? await handler.syncReceipts(ReceiptsSyncRequest(peer: borrower.peerID)) else { continue }
            if result.added > 0 { service.logger.info("gathered \(result.added) receipt(s) published by \(borrower.peerID.prefix(16))…, who asked for work") }
        }
    }

    func round(_ memory: inout Memory, now: ContinuousClock.Instant) async {
        let me = service.identity.publicKey
        let ledger: ReceiptLedger
        do { ledger = try ReceiptStore(environment: service.persistence.environment).ledger() } catch {
            service.logger.warning("cannot read the receipt ledger: \(error)")
            return
        }
        let latest = Set(ledger.receipts(involving: me).filter(\.isComplete).suffix(ControlHandler.receiptIndexCapacity).map(\.id))
        if !latest.isEmpty, latest != memory.published {
            do {
                let result = try await handler.publishReceipts()
                memory.published = latest
                service.logger.debug("published \(result.published) receipt(s)")
            } catch {
                service.logger.info("cannot publish this node's receipts yet: \(error)")
            }
        }
        let oldest = Int64(Date().timeIntervalSince1970 * 1000) - Int64(Self.horizon.components.seconds) * 1000
        let owing = Set(ledger.pendingReceipts.filter { $0.body.provider == me && $0.providerSignature != nil && $0.body.end >= oldest }
            .map(\.body.consumer))
        memory.chase = memory.chase.filter { owing.contains($0.key) }
        let due = owing.filter { memory.chase[$0].map { $0.next <= now } ?? true }
            .sorted { $0.peerID < $1.peerID }.prefix(Self.borrowersPerRound)
        for borrower in due {
            let wait = memory.chase[borrower]?.wait ?? interval
            var added = 0
            if let result = try? await handler.syncReceipts(ReceiptsSyncRequest(peer: borrower.peerID)) { added = result.added }
            if added > 0 { service.logger.info("gathered \(added) receipt(s) from \(borrower.peerID.prefix(16))…") }
            let next = added > 0 ? interval : min(wait * 2, Self.longestWait)
            memory.chase[borrower] = (now + wait, next)
        }
    }
}
