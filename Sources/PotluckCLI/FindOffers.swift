import ControlAPI
import PotluckCrypto
import Node
import Records

/// Finds the live offers for a job through the running node, and this borrower's trust in
/// each lender from its own receipts.
func findOffers(_ data: DataDirectoryOptions, runtime: String, cores: Int, me: PublicKey) async throws -> [OfferCandidate] {
    let answer = try await callNode(data, .offers(runtime: runtime, cores: cores))
    let ledger = (try? withReceiptStore(data) { try $0.ledger() }) ?? ReceiptLedger()
    return OfferCandidate.candidates(in: answer, ledger: ledger, me: me)
}
