import PotluckCrypto
import Records
import Synchronization

/// The peers a lender knows: its friends and everyone it holds a receipt with. Their job-channel
/// connections are never dropped to make room for strangers (`spec/0015` §3.1), so a stranger
/// flood cannot push out the people a lender already lends to.
///
/// Read on every handshake, so it is a set in memory: loaded once from the receipts, grown as
/// receipts are signed, and given the friends each time the policy is read.
final class KnownPeers: Sendable {
    private let peers = Mutex<Set<PublicKey>?>(nil)
    private let friends = Mutex<Set<PublicKey>>([])
    private let load: @Sendable () -> Set<PublicKey>

    /// `load` lists the peers of the stored receipts (called once, on the first question).
    init(load: @escaping @Sendable () -> Set<PublicKey>) {
        self.load = load
    }

    /// The peers of every complete receipt in `ledger`.
    static func peers(in ledger: ReceiptLedger) -> Set<PublicKey> {
        Set(ledger.completeReceipts.flatMap { [$0.body.provider, $0.body.consumer] })
    }

    func contains(_ peer: PublicKey) -> Bool {
        if friends.withLock({ $0.contains(peer) }) { return true }
        if let known = peers.withLock({ $0 }) { return known.contains(peer) }
        let loaded = load()
        return peers.withLock { known in
            if known == nil { known = loaded }
            return known!.contains(peer)
        }
    }

    /// A receipt was signed with `peer`.
    func add(_ peer: PublicKey) {
        _ = peers.withLock { $0?.insert(peer) }
    }

    /// The lender's friends, as its policy now lists them.
    func setFriends(_ keys: Set<PublicKey>) {
        friends.withLock { $0 = keys }
    }
}
