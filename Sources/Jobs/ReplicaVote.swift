// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// How a borrower judges a job run on several lenders (`potluck run --replicas K`;
/// `spec/0018-lending-simulation.md` §2.6): the result digest given by more than half of the
/// replicas wins, and the replicas that gave another are the minority. Without such a digest
/// the vote is a tie. The borrower countersigns only the winners' receipts. One rule for the
/// node's borrower and the lending simulator.
public enum ReplicaVote<Digest: Hashable>: Equatable {
    /// `winner` was given by more than half; `minority` are the indices of the other replicas.
    case majority(winner: Digest, minority: [Int])
    /// No digest was given by more than half of the replicas (or there were none).
    case tie

    /// The vote over `digests`, one per replica in order.
    public init(_ digests: [Digest]) {
        var counts: [Digest: Int] = [:]
        for digest in digests { counts[digest, default: 0] += 1 }
        // At most one digest can hold more than half, so no tie-break is needed.
        guard let winner = counts.first(where: { $0.value * 2 > digests.count })?.key else {
            self = .tie
            return
        }
        self = .majority(winner: winner, minority: digests.indices.filter { digests[$0] != winner })
    }
}
