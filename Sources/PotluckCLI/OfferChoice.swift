import Crypto
import Foundation
import Jobs
import Matching
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

/// The offers that can take the job, best first, and the others with the constraint that
/// rules each out: the matching engine's one-request mode (`spec/0016-matching.md`), scoring
/// latency, completion time and this borrower's trust in each lender. The lender's own policy
/// decides again on its machine.
func rankOffers(_ candidates: [OfferCandidate], for demand: JobDemand, borrower: PublicKey, now: Date = Date())
    -> (ranked: [OfferCandidate], ruledOut: [(OfferCandidate, String)], evaluations: [Evaluation])
{
    let request = MatchRequest(borrower: borrower, runtime: demand.runtime, tools: demand.tool.map { [$0] } ?? [], cores: demand.cores, memoryBytes: demand.memoryBytes,
                               workCoreSeconds: demand.coreSeconds, now: Int64(now.timeIntervalSince1970))
    let matched = candidates.map { candidate in
        MatchCandidate(offer: candidate.offer, estimatedRTTMs: candidate.estimatedRTTMilliseconds, trustInLender: candidate.trust)
    }
    let evaluations = Matcher().rank(request, matched)
    var ranked: [OfferCandidate] = [], ruledOut: [(OfferCandidate, String)] = []
    for evaluation in evaluations {
        let candidate = candidates[evaluation.candidateIndex]
        if let reason = evaluation.ruleOut {
            let missing = reason == .tool ? Matcher().missingTool(request, candidate.offer).map { "the lender does not lend \($0)" } : nil
            ruledOut.append((candidate, missing ?? reason.description))
        } else {
            ranked.append(candidate)
        }
    }
    return (ranked, ruledOut, evaluations)
}
