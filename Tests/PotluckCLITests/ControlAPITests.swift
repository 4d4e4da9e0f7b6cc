import ControlAPI
import Foundation
import Testing

/// The control API (spec 0008) of real nodes: every endpoint over the Unix socket, bad input
/// answered in the one error shape with nothing changed, and the localhost port's token.
extension CLIProcessTests {
    @Suite("control API")
    struct ControlAPITests {
        /// Two nodes on loopback: a lender, and a borrower that serves no jobs.
        static func pair(_ root: URL) throws -> (lender: NodeProcess, borrower: NodeProcess) {
            let lender = try NodeProcess.start(in: root, name: "lender")
            let dir = root.appendingPathComponent("borrower").path
            #expect(try PotluckProcess.run(["init", "--data-dir", dir]).status == 0)
            let borrower = try NodeProcess(dataDirectory: dir, arguments: ["--bootstrap", lender.endpoint, "--no-jobs"])
            #expect(try eventually(timeout: 60) { try NodeCommandTests.tableSize(lender) >= 1 && NodeCommandTests.tableSize(borrower) >= 1 })
            return (lender, borrower)
        }

        /// Expects `call` to fail with `status`; returns the node's sentence.
        static func failure<T>(_ status: Int, _ call: () async throws(ControlClientError) -> T) async -> String {
            do {
                let answer = try await call()
                Issue.record("expected HTTP \(status), got \(answer)")
                return ""
            } catch {
                #expect(error.status == status, "\(error)")
                return error.description
            }
        }

        @Test func everyEndpointAnswersAndBadInputChangesNothing() async throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let (lender, borrower) = try Self.pair(root)
            let api = ControlClient(dataDirectory: borrower.dataDirectory)
            let lenderAPI = ControlClient(dataDirectory: lender.dataDirectory)

            // The node.
            let info = try await api.call(.nodeInfo)
            #expect(info.peerID == (try borrower.cli(["id"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(info.listen == [borrower.endpoint] && info.jobs == nil)
            #expect(info.http?.hasPrefix("http://127.0.0.1:") == true)
            let lenderInfo = try await lenderAPI.call(.nodeInfo)
            #expect(lenderInfo.jobs?.hasPrefix("tcp://127.0.0.1:") == true)
            let status = try await api.call(.dhtStatus)
            #expect(status.routingTableSize >= 1 && status.contacts.contains(lender.endpoint))

            // The DHT.
            #expect(try await api.call(.ping(lender.endpoint)).nodeID == lenderInfo.nodeID)
            #expect(try await api.call(.lookup(lenderInfo.nodeID)).closest.first?.id == lenderInfo.nodeID)
            let put = try await api.call(.put(PutRequest(value: "hello, potluck", salt: "a/b c&d")))
            #expect(put.storedOn >= 1 && put.seq == 1)
            let fetched = try await lenderAPI.call(.item(put.target, salt: "a/b c&d"))
            #expect(fetched.value == "hello, potluck" && fetched.peerID == info.peerID && fetched.salt == "a/b c&d")
            let immutable = try await api.call(.put(PutRequest(value: "still here", immutable: true)))
            #expect(immutable.seq == nil)
            #expect(try await lenderAPI.call(.item(immutable.target)).value == "still here")

            // Bad input: the one error shape, and nothing stored.
            let before = try await api.call(.dhtStatus)
            #expect(await Self.failure(400) { () async throws(ControlClientError) in try await api.call(.item("zz")) }.contains("40 hex digits"))
            #expect(await Self.failure(400) { () async throws(ControlClientError) in try await api.call(.lookup("not an id")) }.contains("target"))
            #expect(await Self.failure(400) { () async throws(ControlClientError) in try await api.call(.ping("nowhere")) }.contains("HOST:PORT"))
            #expect(await Self.failure(400) { () async throws(ControlClientError) in
                try await api.call(.put(PutRequest(value: "x", salt: String(repeating: "s", count: 65))))
            }.contains("salt"))
            #expect(await Self.failure(404) { () async throws(ControlClientError) in
                try await api.call(.item(String(repeating: "ab", count: 20)))
            }.contains("no item"))
            let malformed = try await api.exchange(.post, APIPath.items, body: Array(#"{"value": "x", "immutable": tru"#.utf8))
            #expect(malformed.status == 400)
            #expect(try APICoding.decoder.decode(APIError.self, from: Data(malformed.body)).error == "the body is not a valid PutRequest: it is not JSON")
            let missing = try await api.exchange(.post, APIPath.items, body: Array(#"{"immutable": true}"#.utf8))
            #expect(String(decoding: missing.body, as: UTF8.self) == #"{"error":"the body is not a valid PutRequest: 'value' is missing","status":400}"#)
            let unknown = try await api.exchange(.get, "/v1/nothing-here")
            #expect(unknown.status == 404 && String(decoding: unknown.body, as: UTF8.self).contains("no endpoint GET /v1/nothing-here"))
            let after = try await api.call(.dhtStatus)
            #expect(after.ownItems == before.ownItems && after.itemsStored == before.itemsStored)

            // Offers.
            #expect(try lender.cli(["offer", "set", "--cores", "1", "--memory", "256MiB"]).status == 0)
            let offers = try await api.call(.offers(runtime: "wasm32-wasi"))
            #expect(offers.offers.map(\.lender) == [lenderInfo.peerID] && offers.offers.first?.memoryBytes == 256 << 20)
            #expect(try await api.call(.offers(runtime: "wasm32-wasi", cores: 64)).offers.isEmpty)
            #expect(await Self.failure(400) { () async throws(ControlClientError) in try await lenderAPI.call(.publishOffer(hex: "zz")) }.contains("hex"))
            // The borrower's own offer cannot be published by the lender's node: it names another lender.
            let foreign = try #require(offers.offers.first?.offer)
            #expect(await Self.failure(400) { () async throws(ControlClientError) in try await api.call(.publishOffer(hex: foreign)) }.contains("lender"))
            let cores = try await api.exchange(.get, APIPath.offers + "?cores=-1")
            #expect(cores.status == 400)
            // The lending state and the policy, as the dashboard edits it.
            #expect(try await lenderAPI.call(.lending).published)
            let config = try String(contentsOfFile: lender.dataDirectory + "/config.toml", encoding: .utf8)
            #expect(await Self.failure(400) { () async throws(ControlClientError) in
                try await lenderAPI.call(.updatePolicy(PolicyUpdate(cores: 4096)))
            }.contains("core(s)"))
            #expect(await Self.failure(400) { () async throws(ControlClientError) in
                try await lenderAPI.call(.updatePolicy(PolicyUpdate(windows: ["25:00-26:00"])))
            }.contains("25:00-26:00"))
            #expect(try String(contentsOfFile: lender.dataDirectory + "/config.toml", encoding: .utf8) == config)
            #expect(try await lenderAPI.call(.updatePolicy(PolicyUpdate(memory: "300MiB"))).policy?.memory == "300MiB")
            #expect(try await api.call(.offers(runtime: "wasm32-wasi")).offers.first?.memoryBytes == 300 << 20)
            #expect(await Self.failure(409) { () async throws(ControlClientError) in
                try await api.call(.updatePolicy(PolicyUpdate(cores: 1)))
            }.contains("--no-jobs"))
            #expect(try await lenderAPI.call(.jobHistory).jobs.isEmpty)
            #expect(try await lenderAPI.call(.trust).peers.isEmpty)
            let withdrawn = try await lenderAPI.call(.withdrawOffer)
            #expect(withdrawn.seq >= 2)
            #expect(try await api.call(.offers(runtime: "wasm32-wasi")).offers.isEmpty)

            // Receipts (none yet), and a peer id that does not parse.
            #expect(try await lenderAPI.call(.publishReceipts).published == 0)
            let synced = try await api.call(.syncReceipts(peer: lenderInfo.peerID))
            #expect(synced.listed == 0 && synced.added == 0)
            #expect(await Self.failure(400) { () async throws(ControlClientError) in try await api.call(.syncReceipts(peer: "pl1nobody")) }.contains("peer id"))

            // Jobs: none running; detached jobs on the lender only.
            #expect(try await lenderAPI.call(.runningJobs).running.isEmpty)
            #expect(try await lenderAPI.call(.batches).jobs.isEmpty)
            #expect(await Self.failure(404) { () async throws(ControlClientError) in try await lenderAPI.call(.batch("abc")) }.contains("no job abc"))
            #expect(await Self.failure(404) { () async throws(ControlClientError) in try await lenderAPI.call(.cancelBatch("abc")) }.contains("no job abc"))
            #expect(await Self.failure(400) { () async throws(ControlClientError) in
                try await lenderAPI.call(.submitBatch(path: root.path + "/no-such-job.toml"))
            }.contains("no-such-job.toml"))
            #expect(try await lenderAPI.call(.batches).jobs.isEmpty)
            #expect(await Self.failure(409) { () async throws(ControlClientError) in try await api.call(.batches) }.contains("--no-jobs"))
        }

        @Test func theLocalhostPortAnswersOnlyWithTheToken() async throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let node = try NodeProcess.start(in: root, name: "node")
            let url = try #require(try await ControlClient(dataDirectory: node.dataDirectory).call(.nodeInfo).http)
            let port = try #require(url.split(separator: ":").last.flatMap { Int($0) })
            let token = try String(contentsOfFile: node.dataDirectory + "/api.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(token.count == 64)
            let mode = try FileManager.default.attributesOfItem(atPath: node.dataDirectory + "/api.token")[.posixPermissions] as? NSNumber
            #expect(mode?.intValue == 0o600)

            let anonymous = ControlClient(address: .tcp(host: "127.0.0.1", port: port))
            let before = try await ControlClient(dataDirectory: node.dataDirectory).call(.dhtStatus)
            #expect(await Self.failure(401) { () async throws(ControlClientError) in try await anonymous.call(.nodeInfo) }.contains("token"))
            let wrong = ControlClient(address: .tcp(host: "127.0.0.1", port: port), token: String(repeating: "0", count: 64))
            #expect(await Self.failure(401) { () async throws(ControlClientError) in
                try await wrong.call(.put(PutRequest(value: "not from the owner", immutable: true)))
            }.contains("token"))
            let after = try await ControlClient(dataDirectory: node.dataDirectory).call(.dhtStatus)
            #expect(after.ownItems == before.ownItems && after.datagramsSent == before.datagramsSent)

            let owner = ControlClient(address: .tcp(host: "127.0.0.1", port: port), token: token)
            #expect(try await owner.call(.nodeInfo).peerID == (try node.cli(["id"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
            let byQuery = try await anonymous.exchange(.get, APIPath.dht + "?token=" + token)
            #expect(byQuery.status == 200)

            // Server-sent events: the first snapshot, read by an independent client.
            let reader = try PotluckProcess.run(executable: URL(fileURLWithPath: "/usr/bin/python3"), ["-c", """
                import http.client, sys
                connection = http.client.HTTPConnection("127.0.0.1", \(port), timeout=30)
                connection.request("GET", "/v1/events?token=\(token)")
                answer = connection.getresponse()
                received = b""
                while b"\\n\\n" not in received:
                    chunk = answer.read1(65536)
                    if not chunk: break
                    received += chunk
                print(answer.status, answer.getheader("Content-Type"))
                print(received.split(b"\\n\\n")[0].decode())
                """])
            let lines = reader.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first == "200 text/event-stream" && lines.dropFirst().first == "event: snapshot", "\(reader.stdout) \(reader.stderr)")
            let data = try #require(lines.dropFirst(2).first.map { String($0.dropFirst("data: ".count)) })
            let snapshot = try APICoding.decoder.decode(NodeSnapshot.self, from: Data(data.utf8))
            #expect(snapshot.node.peerID == (try await owner.call(.nodeInfo)).peerID && snapshot.dht.nodeID == before.nodeID)
            #expect(await Self.failure(401) { () async throws(ControlClientError) in try await anonymous.call(.lending) }.contains("token"))

            // The token outlives a restart (a bookmarked dashboard keeps working).
            #expect(node.stop() == 0)
            let again = try NodeProcess(dataDirectory: node.dataDirectory)
            defer { again.stop() }
            #expect(try String(contentsOfFile: node.dataDirectory + "/api.token", encoding: .utf8).hasPrefix(token))
        }

        @Test func httpMustBeALoopbackAddress() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let dir = root.appendingPathComponent("node").path
            #expect(try PotluckProcess.run(["init", "--data-dir", dir]).status == 0)
            let refused = try PotluckProcess.run(["node", "--data-dir", dir, "--http", "0.0.0.0:7480"])
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("--http '0.0.0.0:7480' must be a loopback address"), "\(refused.stderr)")
        }

        /// A bad node argument is one line saying what to write instead, before anything starts.
        @Test func aBadNodeArgumentSaysWhatToWrite() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let dir = root.appendingPathComponent("node").path
            #expect(try PotluckProcess.run(["init", "--data-dir", dir]).status == 0)
            for (arguments, message) in [(["--receipts-interval", "soon"], "--receipts-interval 'soon' is not a duration of at least 1s: use e.g. 30s, 5m or 1h"),
                                         (["--receipts-interval", "0.5"], "--receipts-interval '0.5' is not a duration of at least 1s"),
                                         (["--listen", "6891"], "'6891' is not an address: use HOST:PORT")] {
                let refused = try PotluckProcess.run(["node", "--data-dir", dir] + arguments)
                #expect(refused.status != 0)
                #expect(refused.stderr.contains(message), "\(refused.stderr)")
                #expect(!FileManager.default.fileExists(atPath: dir + "/control.sock"), "no node started")
            }
        }
    }
}
