import PotluckCrypto

/// The borrowers that asked this node for work, on their way to the ``ReceiptKeeper``, which
/// gathers what each one published (`spec/0011-records.md` Appendix A). A lender ranks its line
/// by the flow of work through the receipts it holds (`spec/0012-trust.md`); without them, a
/// borrower that gave to others but never to this lender would rank as a stranger.
///
/// Asking costs the borrower nothing and the node little: the newest 64 askers wait, older ones
/// are dropped, and the keeper gathers as ``ReceiptGathering`` allows (each borrower at most
/// once an hour, 60 gatherings an hour in all).
struct Askers: Sendable {
    let stream: AsyncStream<PublicKey>
    private let continuation: AsyncStream<PublicKey>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: PublicKey.self, bufferingPolicy: .bufferingNewest(64))
    }

    /// `borrower` asked for work.
    func asked(by borrower: PublicKey) {
        continuation.yield(borrower)
    }
}
