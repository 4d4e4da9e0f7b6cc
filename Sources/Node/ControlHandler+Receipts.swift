import Bencode
import ControlAPI
import PotluckCrypto
import Kademlia
import Records

/// Receipts on the DHT (`spec/0011-records.md`): each receipt is a BEP 44 immutable item (its
/// stored form, about 330 bytes); each peer publishes an index — a mutable item under its key
/// with salt `potluck-receipts` listing the targets of its latest receipts — so that anyone can
/// gather the receipts that involve it.
extension ControlHandler {
    static let receiptIndexSalt = Array("potluck-receipts".utf8)
    /// Targets that fit in one index item (20 bytes each; BEP 44 allows 1000 bytes in all).
    static let receiptIndexCapacity = 45

    public func publishReceipts() async throws(APIError) -> ReceiptsPublishResult {
        let me = service.identity.publicKey
        let mine: [Receipt]
        do { mine = try ReceiptStore(environment: service.persistence.environment).ledger().receipts(involving: me).filter(\.isComplete) }
        catch { throw APIError(500, "cannot read the receipt ledger: \(error)") }
        var targets: [[UInt8]] = []
        for receipt in mine.suffix(Self.receiptIndexCapacity) {
            let item = ImmutableItem(value: receipt.encoded())
            guard case .stored = await run(.put(.immutable(item))) else { continue }
            targets.append(item.target.bytes)
        }
        let index = BencodeValue.list(targets.map { .bytes($0) }).encoded()
        let target = MutableItem.target(key: me, salt: Self.receiptIndexSalt)
        let item = MutableItem(signing: index, salt: Self.receiptIndexSalt,
                               sequence: await nextSequence(target: target, salt: Self.receiptIndexSalt), with: service.identity)
        events.post(.published(.mutable(item)))
        guard case .stored = await run(.put(.mutable(item))) else { throw APIError(503, "no node stored the receipt index") }
        return ReceiptsPublishResult(published: targets.count, index: target.hex)
    }

    public func syncReceipts(_ request: ReceiptsSyncRequest) async throws(APIError) -> ReceiptsSyncResult {
        guard let peer = try? PublicKey(peerID: request.peer) else {
            throw .badRequest("'\(request.peer)' is not a peer id: expected a peer id or 64 hex digits")
        }
        let target = MutableItem.target(key: peer, salt: Self.receiptIndexSalt)
        guard case .item(.mutable(let index)?, _, _) = await run(.get(target, salt: Self.receiptIndexSalt)),
              let entries = (try? BencodeDecoder().decode(index.value))?.list else {
            throw .notFound("no receipt index found for \(peer.peerID)")
        }
        var found: [Receipt] = []
        for entry in entries {
            guard let bytes = entry.bytes, let itemTarget = NodeID(bytes: bytes),
                  case .item(.immutable(let item)?, _, _) = await run(.get(itemTarget, salt: [])),
                  let receipt = try? Receipt(encoded: item.value),
                  receipt.body.provider == peer || receipt.body.consumer == peer else { continue }
            found.append(receipt)
        }
        do {
            let store = try ReceiptStore(environment: service.persistence.environment)
            let outcomes = try store.add(contentsOf: found)
            let added = outcomes.filter { if case .success = $0 { true } else { false } }.count
            return ReceiptsSyncResult(listed: entries.count, fetched: found.count, added: added)
        } catch {
            throw APIError(500, "cannot store the receipts: \(error)")
        }
    }
}
