import PotluckCrypto
import Node
import Records

/// Finds the live offers for a job through the running node, and this borrower's trust in
/// each lender from its own receipts.
func findOffers(_ data: DataDirectoryOptions, runtime: String, cores: Int, me: PublicKey) throws -> [OfferCandidate] {
    let answer = try callNode(data, "offer.list", ["runtime": runtime, "cores": String(cores)])
    let ledger = (try? withReceiptStore(data) { try $0.ledger() }) ?? ReceiptLedger()
    return OfferCandidate.candidates(in: answer, ledger: ledger, me: me)
}
