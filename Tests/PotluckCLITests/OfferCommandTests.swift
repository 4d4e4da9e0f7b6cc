import PotluckCrypto
import Foundation
import Testing

/// Offers through the DHT between real nodes on loopback (issue 5).
extension CLIProcessTests {
    @Suite("potluck offer and potluck offers")
    struct OfferCommandTests {
        @Test func anOfferIsListedThenWithdrawnAndExpiresWhenTheLenderStops() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let lender = try NodeProcess.start(in: root, name: "lender")
            let borrower = try NodeProcess.start(in: root, name: "borrower", bootstrap: [lender])
            #expect(try eventually { try NodeCommandTests.tableSize(lender) >= 1 })
            let lenderID = try lender.cli(["id"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)

            let set = try lender.cli(["offer", "set", "--cores", "2", "--memory", "4GiB", "--runtime", "wasm32-wasi",
                                      "--window", "22:00-07:00", "--idle-only", "--ttl", "1h"])
            #expect(set.status == 0, "\(set.stderr)")
            let config = try String(contentsOfFile: lender.dataDirectory + "/config.toml", encoding: .utf8)
            #expect(config.contains("cores = 2") && config.contains("idle_only = true"))

            let listed = try NodeCommandTests.json(try borrower.cli(["offers", "--json"]).stdout)
            let offers = try #require(listed["offers"] as? [[String: Any]])
            #expect(offers.count == 1)
            #expect(offers.first?["lender"] as? String == lenderID)
            #expect(offers.first?["cores"] as? Int == 2)
            #expect(offers.first?["memory_bytes"] as? Int == 4 << 30)
            // The lender's Vivaldi coordinate rides in the offer: the borrower estimates its latency.
            let estimate = try #require(offers.first?["estimated_rtt_ms"] as? Double)
            #expect(estimate >= 0 && estimate < 10_000)
            #expect((try NodeCommandTests.json(try borrower.cli(["offers", "--json", "--cores", "8"]).stdout)["offers"] as? [Any])?.isEmpty == true)

            #expect(try lender.cli(["offer", "withdraw"]).status == 0)
            #expect((try NodeCommandTests.json(try borrower.cli(["offers", "--json"]).stdout)["offers"] as? [Any])?.isEmpty == true)

            // Published again with a short lifetime: the running lender refreshes it before it
            // expires; once the lender stops, it expires.
            #expect(try lender.cli(["offer", "set", "--ttl", "3s"]).status == 0)
            #expect((try NodeCommandTests.json(try borrower.cli(["offers", "--json"]).stdout)["offers"] as? [Any])?.count == 1)
            usleep(4_500_000)
            #expect((try NodeCommandTests.json(try borrower.cli(["offers", "--json"]).stdout)["offers"] as? [Any])?.count == 1,
                    "the offer was not refreshed")
            #expect(lender.stop() == 0)
            usleep(3_500_000)
            #expect((try NodeCommandTests.json(try borrower.cli(["offers", "--json"]).stdout)["offers"] as? [Any])?.isEmpty == true)
            #expect(borrower.stop() == 0)
        }

        /// Issue 20 ("seen once"): both nodes restart on their ports, the lender first, with
        /// nothing but their saved routing tables; the borrower finds the lender's offer again
        /// without anyone running `offer set`.
        @Test func anOfferIsFoundAgainAfterBothNodesRestart() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            var lender = try NodeProcess.start(in: root, name: "lender")
            var borrower = try NodeProcess.start(in: root, name: "borrower", bootstrap: [lender])
            #expect(try eventually { try NodeCommandTests.tableSize(lender) >= 1 })
            #expect(try lender.cli(["offer", "set", "--cores", "1"]).status == 0)
            let count = { (node: NodeProcess) in
                (try NodeCommandTests.json(try node.cli(["offers", "--json"]).stdout)["offers"] as? [Any])?.count ?? -1
            }
            #expect(try count(borrower) == 1)
            let (lenderAt, borrowerAt) = (lender.endpoint, borrower.endpoint)
            #expect(borrower.stop() == 0 && lender.stop() == 0)

            lender = try NodeProcess(dataDirectory: lender.dataDirectory, arguments: ["--listen", lenderAt], listenOverride: true)
            borrower = try NodeProcess(dataDirectory: borrower.dataDirectory, arguments: ["--listen", borrowerAt], listenOverride: true)
            #expect(try eventually { try count(borrower) == 1 }, "the borrower never found the offer again")
            #expect(borrower.stop() == 0 && lender.stop() == 0)
        }

        @Test func aHandEditedConfigWithAMistakeIsExplained() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let dir = root.appendingPathComponent("node").path
            _ = try PotluckProcess.run(["init", "--data-dir", dir])
            try "[offer]\ncores = \"two\"\n".write(toFile: dir + "/config.toml", atomically: true, encoding: .utf8)
            let show = try PotluckProcess.run(["offer", "show", "--data-dir", dir])
            #expect(show.status != 0)
            #expect(show.stderr.contains("offer.cores must be an integer"))
            try "[offer]\nkores = 2\n".write(toFile: dir + "/config.toml", atomically: true, encoding: .utf8)
            #expect(try PotluckProcess.run(["offer", "show", "--data-dir", dir]).stderr.contains("unknown key offer.kores"))
        }

        /// Issue 17: an offer is set and checked while the node is down and published when it
        /// starts; values this machine cannot give are refused; every list and flag can be unset.
        /// A node up but not yet on the network (alone, or waiting for a relay's tunnel): the
        /// offer is kept and published once the node has a peer, not refused.
        @Test func anOfferSetBeforeTheNodeHasPeersIsPublishedOnceItHasOne() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let lender = try NodeProcess.start(in: root, name: "lender")
            let saved = try lender.cli(["offer", "set", "--cores", "1", "--memory", "256MiB"])
            #expect(saved.status == 0, "\(saved.stderr)")
            #expect(saved.stdout.contains("the node has not reached the network yet"), "\(saved.stdout)")
            #expect(FileManager.default.fileExists(atPath: lender.dataDirectory + "/offer.pending"))
            let borrower = try NodeProcess.start(in: root, name: "borrower", bootstrap: [lender])
            let offers = { (try NodeCommandTests.json(try borrower.cli(["offers", "--json"]).stdout)["offers"] as? [[String: Any]]) ?? [] }
            #expect(try eventually(timeout: 30) { try offers().count == 1 }, "\(lender.stderr)")
            #expect(!FileManager.default.fileExists(atPath: lender.dataDirectory + "/offer.pending"))
            #expect(borrower.stop() == 0 && lender.stop() == 0)
        }

        /// An idle-only lender whose machine stays busy says so in its offer once the busy state
        /// has held 30 s (`spec/0011` §2.2): the borrower lists it as busy and rules it out
        /// before asking. At `idle_load = 0` the machine never counts as idle.
        @Test func anIdleOnlyLenderWhoseMachineIsBusySaysSoInItsOffer() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let lender = try NodeProcess.start(in: root, name: "lender")
            let borrower = try NodeProcess.start(in: root, name: "borrower", bootstrap: [lender])
            #expect(try eventually { try NodeCommandTests.tableSize(lender) >= 1 })
            let set = try lender.cli(["offer", "set", "--cores", "1", "--memory", "256MiB", "--idle-only"])
            #expect(set.status == 0, "\(set.stderr)")
            let config = lender.dataDirectory + "/config.toml"
            let text = try String(contentsOfFile: config, encoding: .utf8)
            #expect(text.contains("idle_load = 0.25"), "\(text)")
            try text.replacingOccurrences(of: "idle_load = 0.25", with: "idle_load = 0").write(toFile: config, atomically: true, encoding: .utf8)
            let offers = { (try NodeCommandTests.json(try borrower.cli(["offers", "--json"]).stdout)["offers"] as? [[String: Any]]) ?? [] }
            #expect(try eventually(timeout: 60) { try offers().first?["busy_since"] is Int }, "\(lender.stderr)")
            #expect(lender.stderr.contains("the machine is busy with other work"), "\(lender.stderr)")
            #expect(try borrower.cli(["offers"]).stdout.contains("busy: its owner is using it since "))
            let match = try borrower.cli(["match", "--cores", "1", "--explain"])
            #expect(match.status != 0 && match.stdout.contains("ruled out: the lender lends only while idle, and its owner is using it"), "\(match.stdout)")
            #expect(borrower.stop() == 0 && lender.stop() == 0)
        }

        @Test func anOfferSetOfflineIsCheckedThenPublishedWhenTheNodeStarts() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let dir = root.appendingPathComponent("lender").path
            #expect(try PotluckProcess.run(["init", "--data-dir", dir]).status == 0)
            let set = { (arguments: [String]) in try PotluckProcess.run(["offer", "set", "--data-dir", dir] + arguments) }

            let cores = ProcessInfo.processInfo.activeProcessorCount
            let tooMany = try set(["--cores", "\(cores + 1)"])
            #expect(tooMany.status != 0 && tooMany.stderr == "Error: this machine has \(cores) core(s); lend at most \(cores) (--cores)\n",
                    "\(tooMany.stderr)")
            let docker = try set(["--runtime", "docker"])
            #expect(docker.status != 0 && docker.stderr.contains("unknown runtime 'docker'"), "\(docker.stderr)")
            let huge = try set(["--memory", "1024TiB"])
            #expect(huge.status != 0 && huge.stderr.contains("of memory; lend at most that"), "\(huge.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/config.toml"), "nothing recorded from refused values")

            let stranger = SigningKey.generate().publicKey.peerID
            let saved = try set(["--cores", "1", "--memory", "256MiB", "--idle-only", "--deny", stranger, "--window", "00:00-23:59"])
            #expect(saved.status == 0, "\(saved.stderr)")
            #expect(saved.stdout.contains("no node is running, so 'potluck node' publishes it when it starts"), "\(saved.stdout)")
            var shown = try PotluckProcess.run(["offer", "show", "--data-dir", dir]).stdout
            #expect(shown.contains("idle_only = true") && shown.contains(stranger) && shown.contains("00:00-23:59"), "\(shown)")
            let cleared = try set(["--no-idle-only", "--clear", "deny", "--clear", "windows", "--json"])
            #expect(cleared.status == 0, "\(cleared.stderr)")
            let json = try NodeCommandTests.json(cleared.stdout)
            #expect(json["published"] as? Bool == false && json["saved_in"] as? String == dir + "/config.toml", "\(cleared.stdout)")
            shown = try PotluckProcess.run(["offer", "show", "--data-dir", dir]).stdout
            #expect(shown.contains("idle_only = false") && shown.contains("deny = []") && shown.contains("windows = []"), "\(shown)")
            #expect(shown.contains("cores = 1") && shown.contains("memory = '256MiB'"), "what was not unset stays: \(shown)")

            // The node publishes the offer as soon as it has a peer; a borrower finds it.
            let lender = try NodeProcess(dataDirectory: dir)
            let borrower = try NodeProcess.start(in: root, name: "borrower", bootstrap: [lender])
            let offers = { (try NodeCommandTests.json(try borrower.cli(["offers", "--json"]).stdout)["offers"] as? [[String: Any]]) ?? [] }
            #expect(try eventually(timeout: 30) { try offers().count == 1 }, "\(lender.stderr)")
            #expect(try offers().first?["memory_bytes"] as? Int == 256 << 20)
            #expect(lender.stderr.contains("published the offer set while the node was down"))
            #expect(!FileManager.default.fileExists(atPath: dir + "/offer.pending"))
            #expect(borrower.stop() == 0 && lender.stop() == 0)
        }
    }
}
