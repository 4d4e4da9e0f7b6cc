// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Lending
import Simulator
import Testing

/// Issue 18's scoreboard on a small community: each rule's row holds the medians over the
/// seeds and their spread, and the figures tell the rules apart as the runs do.
@Suite struct LendingStudyTests {
    @Test func eachRuleGetsARowOfMediansAndSpread() throws {
        let scenario = try Scenario(toml: LendingTests.scenario(extra: "newcomers = 0.1\nwhitewashers = 0.05"))
        var runs: [(LineRule.Order, String)] = []
        let rows = LendingStudy.run([scenario], policies: [.fifo, .potluck], seeds: 2) { scenario, rule, report in
            runs.append((rule, report.traceHash))
            #expect(report.order == rule.rawValue)
            #expect(report.seed == scenario.seed)
        }
        #expect(runs.count == 4)
        #expect(rows.map(\.policy) == ["fifo", "potluck"])
        let fifo = try #require(rows.first), potluck = try #require(rows.last)
        #expect(fifo.seeds == [3, 4] && potluck.seeds == [3, 4])
        #expect(fifo.freeRiderPeerShare == 0.25)
        #expect(fifo.badResultRate == nil && fifo.sybilGain == nil, "no malicious lenders or sybils in this scenario")
        // Medians lie within their spread; the spread is real (two seeds differ).
        for row in rows {
            let wait = try #require(row.contributorWaitP50S)
            let range = try #require(row.spread["contributor_wait_p50_s"])
            #expect(range[0] <= wait && wait <= range[1])
            #expect(range[0] < range[1])
            #expect(row.newcomerWaitP50S != nil && row.whitewasherWaitP50S != nil && row.favourRatio != nil)
        }
        // First come first served gives free riders about their share of peers' demand; Potluck's
        // rule gives them less, and contributors get back more of what they gave.
        #expect(try #require(potluck.freeRiderShare) < #require(fifo.freeRiderShare))
        #expect(try #require(potluck.favourRatio) > #require(fifo.favourRatio))
        #expect(try #require(potluck.contributorWaitP50S) < #require(fifo.contributorWaitP50S))
    }
}
