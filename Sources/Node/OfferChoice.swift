import PotluckCrypto
import ControlAPI
import Foundation
import Jobs
import Matching
import Records
import Trust

/// An offer found through the DHT, with what this borrower knows of its lender.
public struct OfferCandidate: Sendable {
    public var offer: Offer
    /// The Vivaldi estimate of the round trip to the lender, if both have coordinates.
    public var estimatedRTTMilliseconds: Double?
    /// This borrower's trust in the lender (`spec/0012-trust.md`, flow), 0 for strangers.
    public var trust: Double

    /// The offers of an `offer.list` answer (`spec/0008-control-api.md`) but `me`'s own, with
    /// this borrower's trust in each lender from its receipts, `ledger`.
    public static func candidates(in answer: OfferList, ledger: ReceiptLedger, me: PublicKey, now: Date = Date()) -> [OfferCandidate] {
        let snapshot = WorkGraph(ledger: ledger).snapshot(now: Int64(now.timeIntervalSince1970 * 1000), halfLifeSeconds: nil)
        return answer.offers.compactMap { entry -> OfferCandidate? in
            guard let bytes = Hex.decode(entry.offer), let offer = try? Offer(encoded: bytes), offer.lender != me else { return nil }
            return OfferCandidate(offer: offer, estimatedRTTMilliseconds: entry.estimatedRttMs,
                                  trust: snapshot.flowScore(of: offer.lender, asSeenBy: me).score)
        }
    }
}

/// Why an offer that lacks `tool` is ruled out, as ``rankOffers`` says it.
func missingToolReason(_ tool: String) -> String { "the lender does not lend \(tool)" }

/// The offers that can take the job, best first, and the others with the constraint that
/// rules each out: the matching engine's one-request mode (`spec/0016-matching.md`), scoring
/// latency, completion time and this borrower's trust in each lender; lenders it `avoided`
/// (``AvoidedLenders``) are ruled out while the avoidance is in force. The lender's own policy decides again on its machine.
public func rankOffers(_ candidates: [OfferCandidate], for demand: JobDemand, borrower: PublicKey, maxLatencyMs: Double? = nil,
                       avoided: [PublicKey: AvoidedLenders.Entry] = [:], now: Date = Date())
    -> (ranked: [OfferCandidate], ruledOut: [(OfferCandidate, String)], evaluations: [Evaluation])
{
    let avoided = avoided.filter { $0.value.isInForce(at: now) }
    let request = MatchRequest(borrower: borrower, runtime: demand.runtime, tools: demand.tool.map { [$0] } ?? [], cores: demand.cores, memoryBytes: demand.memoryBytes,
                               workCoreSeconds: demand.coreSeconds, now: Int64(now.timeIntervalSince1970), maxLatencyMs: maxLatencyMs,
                               avoided: Set(avoided.keys))
    let matched = candidates.map { candidate in
        MatchCandidate(offer: candidate.offer, estimatedRTTMs: candidate.estimatedRTTMilliseconds, trustInLender: candidate.trust)
    }
    let evaluations = Matcher().rank(request, matched)
    var ranked: [OfferCandidate] = [], ruledOut: [(OfferCandidate, String)] = []
    for evaluation in evaluations {
        let candidate = candidates[evaluation.candidateIndex]
        if let reason = evaluation.ruleOut {
            var why = reason.description
            if reason == .tool, let tool = Matcher().missingTool(request, candidate.offer) { why = missingToolReason(tool) }
            if reason == .avoided, let entry = avoided[candidate.offer.lender] {
                let forget = "'potluck avoid forget \(candidate.offer.lender.peerID)'"
                if let until = entry.until {
                    let time = Date(timeIntervalSince1970: Double(until) / 1000).formatted(.iso8601)
                    why = "\(entry.reason); asked again from \(time) (\(forget) to ask now)"
                } else {
                    let since = Date(timeIntervalSince1970: Double(entry.since) / 1000).formatted(.iso8601.year().month().day())
                    why = "you avoid this lender since \(since): \(entry.reason) (\(forget) to use it again)"
                }
            }
            ruledOut.append((candidate, why))
        } else {
            ranked.append(candidate)
        }
    }
    return (ranked, ruledOut, evaluations)
}
