import PotluckCrypto
import Foundation
import Testing

extension CLIProcessTests {
    @Suite("potluck init and potluck id")
    struct IdentityCommandTests {
        @Test func initCreatesAnOwnerOnlyIdentityAndIdPrintsIt() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let dir = root.appendingPathComponent("node").path

            let created = try PotluckProcess.run(["init", "--data-dir", dir])
            #expect(created.status == 0, "\(created.stderr)")
            let identity = dir + "/identity"
            let mode = try FileManager.default.attributesOfItem(atPath: identity)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            #expect(FileManager.default.fileExists(atPath: dir + "/db/data.mdb"))

            let id = try PotluckProcess.run(["id", "--data-dir", dir])
            #expect(id.status == 0)
            let peerID = id.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(created.stdout.contains(peerID))
            let key = try IdentityFile.load(from: identity)
            #expect(peerID == key.publicKey.peerID)

            let json = try PotluckProcess.run(["id", "--data-dir", dir, "--json"])
            let object = try #require(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: String])
            #expect(object["peer_id"] == peerID)
            #expect(object["public_key"] == key.publicKey.hex)
            #expect(object["public_key"]?.count == 64)
        }

        /// Issue 20: an existing, looser data directory is restricted to its owner at `init`; the
        /// node's control socket is 0600 from the start; a node told not to use the public DHT
        /// does not say it does.
        @Test func initTightensAnExistingDirectoryAndTheSocketIsOwnerOnly() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let dir = root.appendingPathComponent("loose").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            let created = try PotluckProcess.run(["init", "--data-dir", dir])
            #expect(created.status == 0, "\(created.stderr)")
            #expect(created.stdout.contains("restricted \(dir) to its owner (mode 0700; it was 755)"), "\(created.stdout)")
            #expect(try FileManager.default.attributesOfItem(atPath: dir)[.posixPermissions] as? Int == 0o700)

            let node = try NodeProcess(dataDirectory: dir)
            let socket = dir + "/control.sock"
            // The node says where it listens once the DHT is bound; its control socket follows.
            #expect(eventually { FileManager.default.fileExists(atPath: socket) })
            #expect(try FileManager.default.attributesOfItem(atPath: socket)[.posixPermissions] as? Int == 0o600)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).allSatisfy { !$0.hasPrefix(".c") })
            #expect(try node.cli(["status"]).status == 0)
            #expect(node.stop() == 0)
            #expect(!node.stderr.contains("through the public DHT"), "\(node.stderr)")
            #expect(node.stderr.contains("waiting for peers to find this node"), "\(node.stderr)")
        }

        @Test func initTwiceNeverOverwrites() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let dir = root.path
            #expect(try PotluckProcess.run(["init", "--data-dir", dir]).status == 0)
            let before = try Data(contentsOf: URL(fileURLWithPath: dir + "/identity"))

            let again = try PotluckProcess.run(["init", "--data-dir", dir])
            #expect(again.status != 0)
            #expect(again.stderr.contains("already has an identity"))
            #expect(again.stderr.split(separator: "\n").count == 1)
            #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/identity")) == before)
        }

        @Test func missingIdentityIsOneClearLine() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let result = try PotluckProcess.run(["id", "--data-dir", root.path])
            #expect(result.status != 0)
            #expect(result.stderr.contains("run 'potluck init' first"))
            #expect(result.stderr.split(separator: "\n").count == 1)
            #expect(result.stdout.isEmpty)
        }

        @Test(arguments: [
            "potluck-identity 1\nseed zz\npublic 00\n",
            "not an identity",
            "potluck-identity 1\nseed \(String(repeating: "11", count: 32))\npublic \(String(repeating: "22", count: 32))\n",
            "",
        ])
        func corruptedIdentityIsOneClearLine(content: String) throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            try Data(content.utf8).write(to: root.appendingPathComponent("identity"))
            let result = try PotluckProcess.run(["id", "--data-dir", root.path])
            #expect(result.status != 0)
            #expect(result.stderr.contains("is corrupted"))
            #expect(result.stderr.split(separator: "\n").count == 1)
            #expect(!result.stderr.contains("Fatal error"))
        }

        @Test func defaultDataDirectoryFollowsXDG() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            var environment = ProcessInfo.processInfo.environment
            environment["XDG_DATA_HOME"] = root.path
            #expect(try PotluckProcess.run(["init"], environment: environment).status == 0)
            #expect(FileManager.default.fileExists(atPath: root.path + "/potluck/identity"))
        }

        @Test func badArgumentIsOneLineOfAdvice() throws {
            let result = try PotluckProcess.run(["id", "--no-such-flag"])
            #expect(result.status != 0)
            #expect(result.stderr.contains("Unknown option '--no-such-flag'"))
            #expect(!result.stderr.contains("Fatal error"))
        }

        /// `--replicas` out of range is one line, before anything is asked of a node.
        @Test func replicasOutOfRangeAreOneLine() throws {
            let result = try PotluckProcess.run(["run", "--detach", "examples/photos/job.toml", "--replicas", "17"])
            #expect(result.status != 0)
            #expect(result.stderr.contains("--replicas must be between 1 and 16"), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        }
    }
}

extension CLIProcessTests {
    @Suite("potluck demo")
    struct DemoCommandTests {
        @Test func theDemoRunsALoopbackNetworkWithNoConfiguration() throws {
            // The main job: lenders, a borrower, a job, a receipt signed by both.
            let temporary = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: temporary) }
            let lending = try PotluckProcess.run(["demo"], environment: ProcessInfo.processInfo.environment.merging(["TMPDIR": temporary.path]) { $1 })
            #expect(lending.status == 0, "\(lending.stderr)")
            // Its nodes stopped before their directory was removed, and it was (issue 17).
            let left = FileManager.default.enumerator(atPath: temporary.path)?.allObjects.compactMap { $0 as? String } ?? []
            #expect(left.isEmpty, "left in TMPDIR: \(left.prefix(20))")
            #expect(lending.stdout.contains("found 3 offer(s) through the DHT; 3 fit the job"), "\(lending.stdout)")
            #expect(lending.stdout.contains("its output: 25997"))
            #expect(lending.stdout.contains("signed by both, stored by both: yes"))
            #expect(lending.stdout.contains("wrote mandelbrot.pgm"))
            #expect(lending.stdout.contains("borrower → lender"))
            // The native part: CI installs bubblewrap, ImageMagick and Blender, and tests run in the package's root.
            #expect(lending.stdout.contains("6 photos (800x600 JPEGs) shrunk to half in"), "\(lending.stdout)")
            #expect(lending.stdout.contains("4 frames of examples/render's scene rendered with Cycles in"), "\(lending.stdout)")

            let result = try PotluckProcess.run(["demo", "--dht", "--nodes", "30"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("10 of 10 found the true 8 closest nodes"))
            #expect(result.stdout.contains("3 of 3 published (BEP 44), 3 of 3 fetched"))
            let bad = try PotluckProcess.run(["demo", "--nodes", "1"])
            #expect(bad.status != 0)
            #expect(bad.stderr.contains("--nodes must be between 2 and 1000"))
        }
    }
}
