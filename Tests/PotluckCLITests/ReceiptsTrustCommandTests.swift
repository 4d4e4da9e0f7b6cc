import ControlAPI
import ExampleJobs
import PotluckCrypto
import Foundation
import Records
import Testing

/// `potluck receipts import/export/list` and `potluck trust` on a real data directory.
extension CLIProcessTests {
    @Suite("potluck receipts and potluck trust")
    struct ReceiptsTrustCommandTests {
        @Test func importedReceiptsMoveTrustAndBadLinesAreReportedWithTheirNumber() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let dir = root.appendingPathComponent("node").path
            #expect(try PotluckProcess.run(["init", "--data-dir", dir]).status == 0)
            let me = try IdentityFile.load(from: dir + "/identity")
            let lender = SigningKey.generate(), stranger = SigningKey.generate()

            // The lender computed one core-hour for me: signed by both.
            let body = ReceiptBody(provider: lender.publicKey, consumer: me.publicKey, jobDigest: Blake2b.hash256(Array("job".utf8)),
                                   coreMilliseconds: 3_600_000, memoryByteSeconds: 0, start: 1_700_000_000_000,
                                   end: 1_700_003_600_000, sequence: 1)
            let complete = Receipt(body: body).signed(by: lender).signed(by: me)
            var tamperedBody = body
            tamperedBody.coreMilliseconds = 7_200_000
            let tampered = Receipt(body: tamperedBody, providerSignature: complete.providerSignature,
                                   consumerSignature: complete.consumerSignature)
            var second = body
            second.sequence = 2
            let oneSided = Receipt(body: second).signed(by: lender)
            let lines = [complete, tampered, oneSided].map { #"{"encoded":"\#(Hex.encode($0.encoded()))"}"# } + ["not json"]
            let file = root.appendingPathComponent("in.jsonl").path
            try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)

            let imported = try PotluckProcess.run(["receipts", "import", file, "--data-dir", dir])
            #expect(imported.status != 0)
            #expect(imported.stdout.contains("imported 2 receipt(s), 0 already held, rejected 2"))
            #expect(imported.stderr.contains("Error: 2 receipt(s) of \(file) rejected; the lines above say why"))
            #expect(imported.stderr.contains("line 2:"))
            #expect(imported.stderr.contains("line 4: not a JSON object"))

            let listed = try PotluckProcess.run(["receipts", "--json", "--data-dir", dir])
            let entries = listed.stdout.split(separator: "\n")
            #expect(entries.count == 2)
            #expect(entries.filter { $0.contains("\"complete\":true") }.count == 1)

            // Only the complete receipt counts: one core-hour given → atan(1) / (π/2) = 0.5.
            let trust = try PotluckProcess.run(["trust", lender.publicKey.peerID, "--json", "--explain", "--data-dir", dir])
            #expect(trust.status == 0, "\(trust.stderr)")
            let object = try #require(JSONSerialization.jsonObject(with: Data(trust.stdout.utf8)) as? [String: Any])
            let score = try #require(object["score"] as? Double)
            #expect(abs(score - 0.5) < 1e-9)
            let explanation = try #require(object["explanation"] as? [String: Any])
            #expect(explanation["given_core_seconds"] as? Double == 3600)
            #expect(explanation["known_receipts"] as? Int == 1)

            let whitewasher = try PotluckProcess.run(["trust", stranger.publicKey.peerID, "--json", "--data-dir", dir])
            #expect(whitewasher.stdout.contains("\"score\":0"))

            let exported = root.appendingPathComponent("out.jsonl").path
            #expect(try PotluckProcess.run(["receipts", "export", exported, "--data-dir", dir]).status == 0)
            let other = root.appendingPathComponent("other").path
            _ = try PotluckProcess.run(["init", "--data-dir", other])
            let reimported = try PotluckProcess.run(["receipts", "import", exported, "--data-dir", other])
            #expect(reimported.stdout.contains("imported 2 receipt(s), 0 already held, rejected 0"), "\(reimported.stderr)")
            // The same file again: nothing new, nothing wrong.
            let again = try PotluckProcess.run(["receipts", "import", exported, "--data-dir", other])
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stdout.contains("imported 0 receipt(s), 2 already held, rejected 0"), "\(again.stdout)")

            let badPeer = try PotluckProcess.run(["trust", "pl1nope", "--data-dir", dir])
            #expect(badPeer.status != 0)
            #expect(badPeer.stderr.split(separator: "\n").count == 1)
        }
    }
}

extension CLIProcessTests {
    /// A node keeps its ledger between jobs (``ReceiptStore`` rebuilds it only when the
    /// receipts' generation moved); receipts another process writes to its data directory
    /// reach it at once.
    @Suite("a running node's ledger")
    struct LedgerCacheTests {
        @Test func receiptsImportedByAnotherProcessReachTheRunningNode() async throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let node = try NodeProcess.start(in: root, name: "node")
            let me = try IdentityFile.load(from: node.dataDirectory + "/identity")
            let api = ControlClient(dataDirectory: node.dataDirectory)
            #expect(try await api.call(.trust).receiptsKnown == 0)
            let file = root.appendingPathComponent("in.jsonl").path
            for count in 1...2 {
                let lender = SigningKey.generate()
                let receipt = Receipt(body: ReceiptBody(provider: lender.publicKey, consumer: me.publicKey, jobDigest: Blake2b.hash256([UInt8(count)]),
                                                        coreMilliseconds: 60_000, memoryByteSeconds: 0, start: 1_700_000_000_000,
                                                        end: 1_700_000_060_000, sequence: 1)).signed(by: lender).signed(by: me)
                try (#"{"encoded":"\#(Hex.encode(receipt.encoded()))"}"# + "\n").write(toFile: file, atomically: true, encoding: .utf8)
                let imported = try PotluckProcess.run(["receipts", "import", file, "--data-dir", node.dataDirectory])
                #expect(imported.stdout.contains("imported 1 receipt(s)"), "\(imported.stderr)")
                #expect(try await api.call(.trust).receiptsKnown == count)
            }
            #expect(node.stop() == 0)
        }
    }
}

extension CLIProcessTests {
    @Suite("potluck receipts publish and sync")
    struct ReceiptsSyncTests {
        @Test func receiptsPublishedByOnePeerAreGatheredByAnother() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let a = try NodeProcess.start(in: root, name: "a")
            let b = try NodeProcess.start(in: root, name: "b", bootstrap: [a])
            #expect(try eventually { try NodeCommandTests.tableSize(a) >= 1 })
            let me = try IdentityFile.load(from: a.dataDirectory + "/identity")
            let lender = SigningKey.generate()
            try importThreeReceipts(from: lender, to: me, coreMilliseconds: 60_000, into: a, under: root)

            let published = try a.cli(["receipts", "publish"])
            #expect(published.status == 0, "\(published.stderr)")
            #expect(published.stdout.contains("published 3 receipt(s)"))

            let peerA = try a.cli(["id"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let synced = try b.cli(["receipts", "sync", peerA])
            #expect(synced.status == 0, "\(synced.stderr)")
            #expect(synced.stdout.contains("3 listed, 3 fetched, 3 new receipt(s) added"))
            #expect(try b.cli(["receipts", "--json"]).stdout.split(separator: "\n").count == 3)
            // B can now judge the lender from A's receipts (A received 3 core-minutes from it):
            // B has no path to the lender of its own, so its personal flow-based trust stays 0.
            #expect(try b.cli(["trust", lender.publicKey.peerID, "--json"]).stdout.contains("\"score\":0"))
            for node in [a, b] { #expect(node.stop() == 0) }
        }

        /// Three receipts of `coreMilliseconds` each from `provider` to `consumer`, signed by both,
        /// imported into `node` through a file under `root`.
        func importThreeReceipts(from provider: SigningKey, to consumer: SigningKey, coreMilliseconds: Int64,
                                 into node: NodeProcess, under root: URL) throws {
            let receipts = (1...3).map { sequence in
                Receipt(body: ReceiptBody(provider: provider.publicKey, consumer: consumer.publicKey, jobDigest: Blake2b.hash256([UInt8(sequence)]),
                                          coreMilliseconds: coreMilliseconds, memoryByteSeconds: 0, start: 1_700_000_000_000,
                                          end: 1_700_000_000_000 + coreMilliseconds, sequence: Int64(sequence)))
                    .signed(by: provider).signed(by: consumer)
            }
            let file = root.appendingPathComponent("r.jsonl").path
            try receipts.map { #"{"encoded":"\#(Hex.encode($0.encoded()))"}"# }.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
            #expect(try node.cli(["receipts", "import", file]).status == 0)
        }

        /// A lender gathers what a borrower that asks it for work published, without a command:
        /// the line then ranks the borrower by the work it did with others too.
        @Test func aLenderGathersTheReceiptsOfABorrowerThatAsksForWork() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let (lender, borrower) = try NodeProcess.lenderAndBorrower(in: root)
            let me = try IdentityFile.load(from: borrower.dataDirectory + "/identity")
            try importThreeReceipts(from: me, to: SigningKey.generate(), coreMilliseconds: 600_000, into: borrower, under: root)
            let published = try borrower.cli(["receipts", "publish"])
            #expect(published.stdout.contains("published 3 receipt(s)"), "\(published.stderr)")
            #expect(try lender.cli(["receipts", "--json"]).stdout.isEmpty)

            let primes = root.appendingPathComponent("primes.wasm").path
            #expect(FileManager.default.createFile(atPath: primes, contents: Data(ExampleJobs.primes)))
            let ran = try PotluckProcess.run(["run", primes, "--data-dir", borrower.dataDirectory, "--", "1000"])
            #expect(ran.status == 0, "\(ran.stderr)")
            // The job's receipt, and the three the borrower gave another peer.
            #expect(try eventually(timeout: 20) { try lender.cli(["receipts", "--json"]).stdout.split(separator: "\n").count == 4 })
            #expect(lender.stderr.contains("gathered 3 receipt(s) published by \(me.publicKey.peerID.prefix(16))…, who asked for work"), "\(lender.stderr)")
            for node in [lender, borrower] { #expect(node.stop() == 0) }
        }
    }
}
