// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Testing
@testable import Jobs

/// `spec/0018` §2.6: a digest given by more than half of the replicas wins.
@Suite struct ReplicaVoteTests {
    @Test func moreThanHalfWinsAndTheOthersAreTheMinority() {
        #expect(ReplicaVote(["a", "b", "a"]) == .majority(winner: "a", minority: [1]))
        #expect(ReplicaVote(["a", "a", "a"]) == .majority(winner: "a", minority: []))
        #expect(ReplicaVote(["x"]) == .majority(winner: "x", minority: []))
        #expect(ReplicaVote(["b", "a", "b", "c", "b"]) == .majority(winner: "b", minority: [1, 3]))
    }

    @Test func halfIsNotAMajority() {
        #expect(ReplicaVote(["a", "b"]) == .tie)
        #expect(ReplicaVote(["a", "a", "b", "b"]) == .tie)
        #expect(ReplicaVote(["a", "b", "c"]) == .tie)
        #expect(ReplicaVote([String]()) == .tie)
    }
}
