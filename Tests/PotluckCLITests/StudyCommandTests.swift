import Foundation
import Testing

extension CLIProcessTests {
    /// `potluck study`: the scoreboard as a person and a script read it, and its mistakes.
    @Suite("potluck study")
    struct StudyCommandTests {
        @Test func oneJSONObjectPerRuleAndATable() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let scenario = try String(contentsOf: PotluckProcess.packageDirectory.appendingPathComponent("simulations/lending-grant.toml"),
                                      encoding: .utf8)
            try scenario.write(to: root.appendingPathComponent("grant.toml"), atomically: true, encoding: .utf8)
            // A DHT scenario beside it is not a lending one: left out.
            try FileManager.default.copyItem(at: PotluckProcess.packageDirectory.appendingPathComponent("simulations/small.toml"),
                                             to: root.appendingPathComponent("small.toml"))
            let json = try PotluckProcess.run(["study", root.path, "--nodes", "80", "--policies", "trust,potluck", "--json"])
            #expect(json.status == 0, "\(json.stderr)")
            let rows = try json.stdout.split(separator: "\n").map { try NodeCommandTests.json(String($0)) }
            #expect(rows.map { $0["policy"] as? String } == ["trust", "potluck"])
            for row in rows {
                #expect(row["scenario"] as? String == "lending-grant")
                for key in ["contributor_wait_p50_s", "free_rider_share", "newcomer_wait_p50_s", "whitewasher_wait_p50_s", "favour_ratio"] {
                    #expect(row[key] is Double, "\(key) in \(row)")
                }
                #expect(row["bad_result_rate"] is NSNull && row["sybil_gain"] is NSNull, "no malicious lenders or sybils here: \(row)")
            }
            #expect(json.stderr.contains("[2/2] lending-grant, potluck, seed 11: trace "), "\(json.stderr)")

            let table = try PotluckProcess.run(["study", root.appendingPathComponent("grant.toml").path, "--nodes", "80", "--policies", "fifo"])
            #expect(table.status == 0, "\(table.stderr)")
            #expect(table.stdout.contains("contrib wait p50 s") && table.stdout.contains("lending-grant  fifo"), "\(table.stdout)")

            // A sweep: one row per value, named after it; the values change the runs.
            let swept = try PotluckProcess.run(["study", root.appendingPathComponent("grant.toml").path, "--nodes", "80", "--policies",
                                                "fifo", "--sweep", "free_riders=0.0,0.3", "--json"])
            #expect(swept.status == 0, "\(swept.stderr)")
            let sweptRows = try swept.stdout.split(separator: "\n").map { try NodeCommandTests.json(String($0)) }
            #expect(sweptRows.map { $0["scenario"] as? String } == ["lending-grant free_riders=0.0", "lending-grant free_riders=0.3"])
            #expect(sweptRows.first?["free_rider_share"] is NSNull && sweptRows.last?["free_rider_share"] is Double, "\(sweptRows)")
        }

        @Test func mistakesAreOneLine() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            for (arguments, message) in [([root.path + "/nowhere"], "does not exist"),
                                         ([root.path], "has no scenario with a [lending] table"),
                                         ([root.path, "--policies", "richest"], "'richest' is not a rule; use trust, given, fifo, favors, potluck"),
                                         ([root.path, "--seeds", "0"], "--seeds must be in 1…100"),
                                         ([root.path, "--sweep", "colour=1"], "--sweep 'colour=1' must be NAME=V1,V2,...")] {
                let result = try PotluckProcess.run(["study"] + arguments)
                #expect(result.status != 0)
                #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
                #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            }
        }
    }
}
