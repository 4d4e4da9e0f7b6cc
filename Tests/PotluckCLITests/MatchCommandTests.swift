import Foundation
import Testing

/// `potluck match` between real nodes on loopback (issue 7): the borrower ranks the live offers
/// and explains every rule-out.
extension CLIProcessTests {
    @Suite("potluck match")
    struct MatchCommandTests {
        @Test func theBorrowerPicksTheFittingOfferAndExplainsTheOther() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let small = try NodeProcess.start(in: root, name: "small")
            let big = try NodeProcess.start(in: root, name: "big", bootstrap: [small])
            let borrower = try NodeProcess.start(in: root, name: "borrower", bootstrap: [small])
            #expect(try eventually { try NodeCommandTests.tableSize(small) >= 2 })
            let bigID = try big.cli(["id"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try small.cli(["offer", "set", "--cores", "1", "--memory", "1GiB", "--runtime", "wasm32-wasi"]).status == 0)
            // At most this machine's cores: `offer set` refuses more (issue 17).
            #expect(try big.cli(["offer", "set", "--cores", "2", "--memory", "8GiB", "--runtime", "wasm32-wasi"]).status == 0)
            // The borrower lends too: `match`, like `run`, never picks the borrower's own offer.
            #expect(try borrower.cli(["offer", "set", "--cores", "2", "--memory", "8GiB"]).status == 0)

            let result = try borrower.cli(["match", "--cores", "2", "--memory", "2GiB", "--work", "600", "--explain", "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let output = try NodeCommandTests.json(result.stdout)
            let chosen = try #require(output["chosen"] as? [String: Any])
            #expect(chosen["lender"] as? String == bigID)
            #expect((chosen["compute_seconds"] as? Double) == 300)
            let candidates = try #require(output["candidates"] as? [[String: Any]])
            #expect(candidates.count == 2)
            #expect(candidates.last?["ruled_out"] as? String == "cores")

            let text = try borrower.cli(["match", "--cores", "2", "--explain"])
            #expect(text.stdout.contains("ruled out: the lender lends too few cores"))
            // Tables shorten peer ids as git shortens hashes: 12 characters tell these apart.
            #expect(text.stdout.contains("chosen: \(bigID.prefix(12))  2 core(s)"), "\(text.stdout)")
            #expect(!text.stdout.contains(bigID), "\(text.stdout)")
            let none = try borrower.cli(["match", "--cores", "64"])
            #expect(none.status != 0)
            #expect(none.stderr.contains("no offer fits"))
            for node in [borrower, big, small] { #expect(node.stop() == 0) }
        }
    }
}
