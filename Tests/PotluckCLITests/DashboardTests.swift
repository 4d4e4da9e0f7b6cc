import ControlAPI
import ExampleJobs
import Foundation
import Testing

/// The web dashboard in a real browser: headless Chromium driven over the DevTools protocol by
/// `Tests/dashboard/drive.py` loads every page with no console error, and its pause switch
/// really pauses lending. `POTLUCK_SCREENSHOTS=docs` writes the screenshots README shows.
extension CLIProcessTests {
    @Suite("dashboard")
    struct DashboardTests {
        @Test func everyPageLoadsWithoutErrorsAndThePauseSwitchPausesLending() async throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let (lender, borrower) = try NodeProcess.lenderAndBorrower(in: root)
            // Something to show: a job that ran here, and its receipt.
            let primes = root.appendingPathComponent("primes.wasm").path
            #expect(FileManager.default.createFile(atPath: primes, contents: Data(ExampleJobs.primes)))
            let ran = try PotluckProcess.run(["run", primes, "--data-dir", borrower.dataDirectory, "--", "100000"])
            #expect(ran.status == 0, "\(ran.stderr)")
            #expect(try eventually(timeout: 10) { try lender.cli(["receipts", "list", "--json"]).stdout.split(separator: "\n").count == 1 })

            let url = try lender.cli(["dashboard", "--print-url"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(url.hasPrefix("http://127.0.0.1:") && url.contains("/?token="))
            let shots = ProcessInfo.processInfo.environment["POTLUCK_SCREENSHOTS"] ?? root.path
            let driver = try PotluckProcess.run(executable: URL(fileURLWithPath: "/usr/bin/python3"),
                                                [PotluckProcess.packageDirectory.path + "/Tests/dashboard/drive.py", url, shots, "--edit-policy", "--click-pause"])
            #expect(driver.status == 0, "\(driver.stderr)")
            let report = try NodeCommandTests.json(driver.stdout)
            #expect(report["loaded"] as? Bool == true)
            #expect((report["errors"] as? [String]) == [], "\(report)")
            // Only the refused edit below may log: the browser reports its 400 answer.
            #expect((report["later_errors"] as? [String])?.allSatisfy { $0.contains("status of 400") } == true, "\(report)")
            let screenshots = try #require(report["screenshots"] as? [String])
            #expect(screenshots.count == 5)
            for path in screenshots {
                let png = try #require(FileManager.default.contents(atPath: path))
                #expect(png.count > 10_000 && png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "\(path)")
            }
            // The policy form: a size that is not one is refused with the reason, and nothing
            // changes; a good one is saved and published.
            let edits = try #require(report["policy_results"] as? [String])
            #expect(edits.count == 2 && edits[0].contains("'lots' is not a size") && edits[1] == "Saved.", "\(edits)")
            let config = try String(contentsOfFile: lender.dataDirectory + "/config.toml", encoding: .utf8)
            #expect(config.contains("memory = '300MiB'"), "\(config)")
            #expect((report["paused_text"] as? String)?.contains("Lending is paused") == true)

            // The click paused lending for real: the offer is gone from the DHT, and stays paused.
            let lending = try await ControlClient(dataDirectory: lender.dataDirectory).call(.lending)
            #expect(lending.paused && !lending.published)
            #expect(try await ControlClient(dataDirectory: borrower.dataDirectory).call(.offers(runtime: "wasm32-wasi")).offers.isEmpty)
            // With no offer on the DHT the borrower finds no lender (the lender's own refusal is
            // checked below).
            let refused = try PotluckProcess.run(["run", primes, "--data-dir", borrower.dataDirectory, "--", "1000"])
            #expect(refused.status != 0 && refused.stderr.contains("offer"), "\(refused.stderr)")
            // A policy set while paused is saved, not published: resuming publishes it.
            let republish = try lender.cli(["offer", "set", "--memory", "200MiB", "--json"])
            #expect(republish.status == 0, "\(republish.stderr)")
            let saved = try NodeCommandTests.json(republish.stdout)
            #expect(saved["published"] as? Bool == false && (saved["reason"] as? String)?.contains("lending is paused") == true, "\(saved)")
            #expect(try await ControlClient(dataDirectory: borrower.dataDirectory).call(.offers(runtime: "wasm32-wasi")).offers.isEmpty)

            // Resumed, the offer is found again.
            #expect(try await ControlClient(dataDirectory: lender.dataDirectory).call(.pauseLending(false)).published)
            let found = try await ControlClient(dataDirectory: borrower.dataDirectory).call(.offers(runtime: "wasm32-wasi")).offers
            #expect(found.count == 1 && found.first?.memoryBytes == 200 << 20)

            // The lender itself refuses while paused, even to a borrower that still holds its
            // offer: the switch set behind the API's back leaves the offer on the DHT.
            let marker = lender.dataDirectory + "/lending.paused"
            #expect(FileManager.default.createFile(atPath: marker, contents: nil))
            let small = ["run", primes, "--memory", "128MiB", "--data-dir", borrower.dataDirectory, "--", "1000"]  // the offer lends 200 MiB
            let refusedByLender = try PotluckProcess.run(small)
            #expect(refusedByLender.status != 0 && refusedByLender.stderr.contains("the lender paused lending"), "\(refusedByLender.stderr)")
            try FileManager.default.removeItem(atPath: marker)
            let again = try PotluckProcess.run(small)
            #expect(again.status == 0, "\(again.stderr)")
        }
    }
}
