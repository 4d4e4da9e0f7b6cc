import Bencode
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

    func publishReceipts() async throws(NodeError) -> ControlResponse {
        let me = service.identity.publicKey
        let mine: [Receipt]
        do { mine = try ReceiptStore(environment: service.persistence.environment).ledger().receipts(involving: me).filter(\.isComplete) }
        catch { throw NodeError("cannot read the receipt ledger: \(error)") }
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
        guard case .stored = await run(.put(.mutable(item))) else { throw NodeError("no node stored the receipt index") }
        return .success(["published": .number(Double(targets.count)), "index": .string(target.hex)])
    }

    func syncReceipts(_ request: ControlRequest) async throws(NodeError) -> ControlResponse {
        guard let text = request.params["peer"], let peer = try? PublicKey(peerID: text) else {
            throw NodeError("'peer' must be a peer id or 64 hex digits")
        }
        let target = MutableItem.target(key: peer, salt: Self.receiptIndexSalt)
        guard case .item(.mutable(let index)?, _, _) = await run(.get(target, salt: Self.receiptIndexSalt)),
              let entries = (try? BencodeDecoder().decode(index.value))?.list else {
            throw NodeError("no receipt index found for \(peer.peerID)")
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
            var ledger = try store.ledger()
            let outcomes = try store.add(contentsOf: found, to: &ledger)
            let added = outcomes.filter { if case .success = $0 { true } else { false } }.count
            return .success(["listed": .number(Double(entries.count)), "fetched": .number(Double(found.count)),
                             "added": .number(Double(added))])
        } catch {
            throw NodeError("cannot store the receipts: \(error)")
        }
    }
}
