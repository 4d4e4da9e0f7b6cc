@testable import PotluckCLI
import Testing

/// Peer ids in tables, shortened as git shortens hashes (issue 17).
@Suite struct ShortPeerIDsTests {
    @Test func eachIdKeepsTheShortestPrefixNoOtherShares() {
        let a = "pl1qqqqqqqqqaaaaaaaaaaaaaa", b = "pl1qqqqqqqqqaaaabbbbbbbbbb", c = "pl1zzzzzzzzzzzzzzzzzzzzzz"
        let short = ShortPeerIDs([a, b, c, a])
        #expect(short(a) == "pl1qqqqqqqqqaaaaa" && short(b) == "pl1qqqqqqqqqaaaab", "one past the shared prefix")
        #expect(short(c) == "pl1zzzzzzzzz", "alone: the minimum, 12 characters")
        #expect(short("pl1unknown-to-the-table") == "pl1unknown-t")
        #expect(ShortPeerIDs([a, a + "x"])(a) == a, "never longer than the id itself")
    }
}
