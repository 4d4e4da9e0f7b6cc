// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Lending
import Testing

/// When a lender gathers what an asking borrower published (`spec/0011` Appendix A).
@Suite struct ReceiptGatheringTests {
    /// Which of `asks` (borrower, second) the rule lets through, in order.
    static func gathered(_ asks: [(Int, Int64)], into gathering: inout ReceiptGathering<Int>) -> [Bool] {
        asks.map { gathering.gathers($0.0, at: .seconds($0.1)) }
    }

    @Test func aBorrowerIsGatheredOnceAnHour() {
        var gathering = ReceiptGathering<Int>()
        let answers = Self.gathered([(1, 10), (1, 3609), (2, 3609), (1, 3610)], into: &gathering)
        #expect(answers == [true, false, true, true], "within the hour no, another borrower yes, an hour later yes")
    }

    /// Fresh identities cannot make a lender gather without bound: 60 at once, then one a minute,
    /// saved up to an hour's worth.
    @Test func freshIdentitiesSpendAnHourlyAllowance() {
        var gathering = ReceiptGathering<Int>()
        let burst = Self.gathered((0..<100).map { ($0, 1) }, into: &gathering)
        #expect(burst == Array(repeating: true, count: 60) + Array(repeating: false, count: 40))
        let trickle = Self.gathered([(100, 30), (101, 62), (102, 62)], into: &gathering)
        #expect(trickle == [false, true, false], "half a gathering saved at 30 s, one at 62 s")
        let later = Self.gathered((200..<300).map { ($0, 7200) }, into: &gathering)
        #expect(later.filter { $0 }.count == 60)
    }
}
