import Crypto
import Foundation
import Jobs
import Node
import Records
import Trust

/// An offer found through the DHT, with what this borrower knows of its lender.
struct OfferCandidate: Sendable {
    var offer: Offer
    /// The Vivaldi estimate of the round trip to the lender, if both have coordinates.
    var estimatedRTTMilliseconds: Double?
    /// This borrower's trust in the lender (`spec/0012-trust.md`, flow), 0 for strangers.
    var trust: Double
}

/// Finds the live offers for a job through the running node, and this borrower's trust in
/// each lender from its own receipts.
func findOffers(_ data: DataDirectoryOptions, runtime: String, cores: Int, me: PublicKey) throws -> [OfferCandidate] {
    let result = try callNode(data, "offer.list", ["runtime": runtime, "cores": String(cores)])
    let ledger = (try? withReceiptStore(data) { try $0.ledger() }) ?? ReceiptLedger()
    let snapshot = WorkGraph(ledger: ledger).snapshot(now: Int64(Date().timeIntervalSince1970 * 1000), halfLifeSeconds: nil)
    return (result["offers"]?.arrayValue ?? []).compactMap { json -> OfferCandidate? in
        guard let hex = json["offer"]?.stringValue, let bytes = Hex.decode(hex), let offer = try? Offer(encoded: bytes),
              offer.lender != me else { return nil }
        return OfferCandidate(offer: offer, estimatedRTTMilliseconds: json["estimated_rtt_ms"]?.numberValue,
                              trust: snapshot.flowScore(of: offer.lender, asSeenBy: me).score)
    }
}

/// Why an offer cannot take a job, from what the offer publishes (the lender's full policy
/// decides again on its machine), or `nil` if it can.
func ruleOut(_ offer: Offer, for demand: JobDemand, borrower: PublicKey, now: Date = Date()) -> String? {
    let seconds = Int64(now.timeIntervalSince1970)
    if offer.isExpired(now: seconds) { return "expired" }
    if !offer.runtimes.contains(demand.runtime) { return "runs \(offer.runtimes.joined(separator: ", ")), not \(demand.runtime)" }
    if !offer.admits(borrower) { return "its policy does not admit this borrower" }
    if offer.cores < demand.cores { return "lends \(offer.cores) core(s), the job asks for \(demand.cores)" }
    if offer.memoryBytes < demand.memoryBytes { return "lends \(offer.memoryBytes >> 20) MiB, the job asks for \(demand.memoryBytes >> 20) MiB" }
    let minute = Int(seconds / 60 % 1440)
    if !offer.windows.isEmpty && !offer.windows.contains(where: { $0.contains(minute: minute) }) {
        return "lends only during \(offer.windows.map(\.description).joined(separator: ", ")) UTC"
    }
    return nil
}

/// The offers that can take the job, best first: known peers first (highest trust), then the
/// nearest (estimated round trip), then by key for a stable order.
func rankOffers(_ candidates: [OfferCandidate], for demand: JobDemand, borrower: PublicKey)
    -> (ranked: [OfferCandidate], ruledOut: [(OfferCandidate, String)])
{
    var ruledOut: [(OfferCandidate, String)] = []
    var fit: [OfferCandidate] = []
    for candidate in candidates {
        if let reason = ruleOut(candidate.offer, for: demand, borrower: borrower) {
            ruledOut.append((candidate, reason))
        } else {
            fit.append(candidate)
        }
    }
    fit.sort { a, b in
        if a.trust != b.trust { return a.trust > b.trust }
        let ra = a.estimatedRTTMilliseconds ?? .infinity, rb = b.estimatedRTTMilliseconds ?? .infinity
        if ra != rb { return ra < rb }
        return a.offer.lender.peerID < b.offer.lender.peerID
    }
    return (fit, ruledOut)
}
