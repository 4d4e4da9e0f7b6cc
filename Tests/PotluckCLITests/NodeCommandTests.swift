import Foundation
import Testing

/// Real nodes on loopback: separate processes, real UDP sockets, real LMDB files.
extension CLIProcessTests {
    @Suite("potluck node on loopback")
    struct NodeCommandTests {
        @Test func nodesJoinPutAndGetAndStopCleanly() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let a = try NodeProcess.start(in: root, name: "a")
            let b = try NodeProcess.start(in: root, name: "b", bootstrap: [a])
            let c = try NodeProcess.start(in: root, name: "c", bootstrap: [a])

            #expect(try eventually { try Self.tableSize(c) >= 2 })
            let ping = try c.cli(["dht", "ping", a.endpoint, "--json"])
            #expect(ping.status == 0, "\(ping.stderr)")
            #expect(ping.stdout.contains("\"node_id\""))
            // The reply carries a's Potluck identity (`plk`): the endpoint maps to a's peer id.
            let aID = try a.cli(["id"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try Self.json(ping.stdout)["peer_id"] as? String == aID)

            let put = try a.cli(["dht", "put", "offer: 2 cores", "--salt", "slot-1", "--json"])
            #expect(put.status == 0, "\(put.stderr)")
            let putJSON = try Self.json(put.stdout)
            let target = try #require(putJSON["target"] as? String)
            #expect(putJSON["seq"] as? Int == 1)

            let get = try c.cli(["dht", "get", target, "--salt", "slot-1"])
            #expect(get.status == 0, "\(get.stderr)")
            #expect(get.stdout == "offer: 2 cores\n")
            let getJSON = try Self.json(try c.cli(["dht", "get", target, "--salt", "slot-1", "--json"]).stdout)
            #expect(getJSON["seq"] as? Int == 1)
            #expect((getJSON["key"] as? String)?.count == 64)
            #expect((getJSON["signature"] as? String)?.count == 128)

            // A second put bumps seq; the reader sees the new value.
            let second = try Self.json(try a.cli(["dht", "put", "offer: 4 cores", "--salt", "slot-1", "--json"]).stdout)
            #expect(second["seq"] as? Int == 2)
            #expect(try c.cli(["dht", "get", target, "--salt", "slot-1"]).stdout == "offer: 4 cores\n")

            let immutable = try b.cli(["dht", "put", "--immutable", "job digest"])
            #expect(immutable.status == 0)
            let immutableTarget = immutable.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(immutableTarget.count == 40)
            #expect(try a.cli(["dht", "get", immutableTarget]).stdout == "job digest\n")

            let lookup = try Self.json(try b.cli(["dht", "lookup", String(repeating: "0", count: 40), "--json"]).stdout)
            #expect((lookup["closest"] as? [Any])?.count == 2)

            for node in [a, b, c] {
                #expect(node.stop() == 0)
                #expect(node.stderr.contains("routing table saved"))
            }
        }

        @Test func aRestartedNodeRejoinsFromItsSavedTableAndKeepsItsItems() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let a = try NodeProcess.start(in: root, name: "a")
            var b: NodeProcess? = try NodeProcess.start(in: root, name: "b", bootstrap: [a])
            #expect(try eventually { try Self.tableSize(a) >= 1 })
            var targets: [String] = []
            for index in 0..<5 {
                let put = try a.cli(["dht", "put", "--immutable", "item \(index)"])
                #expect(put.status == 0, "\(put.stderr)")
                targets.append(put.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            // The routing table is saved within a second of changing (NodeOptions.contactSaveInterval).
            usleep(1_500_000)
            // Every acknowledged put was stored on b (the only other node): kill it without warning.
            #expect(b!.stop(signal: SIGKILL) == SIGKILL)
            b = nil
            let restarted = try NodeProcess(dataDirectory: root.appendingPathComponent("b").path)  // no --bootstrap
            let status = try Self.json(try restarted.cli(["dht", "status", "--json"]).stdout)
            #expect(status["items_stored"] as? Int == 5)
            #expect(try eventually { try Self.tableSize(restarted) >= 1 }, "rejoined from the saved table")
            #expect(a.stop() == 0)
            for target in targets {
                #expect(try restarted.cli(["dht", "get", target]).stdout.hasPrefix("item "))
            }
            #expect(restarted.stop() == 0)
        }

        @Test func commandsWithoutARunningNodeSayWhatToDo() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            _ = try PotluckProcess.run(["init", "--data-dir", root.path])
            let result = try PotluckProcess.run(["dht", "status", "--data-dir", root.path])
            #expect(result.status != 0)
            #expect(result.stderr.contains("start one with 'potluck node'"))
            #expect(result.stderr.split(separator: "\n").count == 1)
            let badTarget = try PotluckProcess.run(["dht", "get", "xyz", "--data-dir", root.path])
            #expect(badTarget.stderr.contains("give 40 hex digits"))
            #expect(badTarget.stderr.split(separator: "\n").count == 1)
            let badListen = try PotluckProcess.run(["node", "--listen", "nowhere", "--data-dir", root.path])
            #expect(badListen.status != 0)
            #expect(badListen.stderr.contains("use HOST:PORT"))
        }

        /// kill -9 of the storing node while puts are under way: every put that was acknowledged is
        /// still there after a restart (the node commits an item to LMDB before it answers the put).
        @Test func killingAStoringNodeMidPutsLosesNoAcknowledgedItem() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let writer = try NodeProcess.start(in: root, name: "writer")
            let storer = try NodeProcess.start(in: root, name: "storer", bootstrap: [writer])
            #expect(try eventually { try Self.tableSize(writer) >= 1 })
            let pid = storer.process.processIdentifier
            let killer = Thread {
                usleep(useconds_t(Int.random(in: 300_000...900_000)))
                kill(pid, SIGKILL)
            }
            killer.start()
            var acknowledged: [String] = []
            for index in 0..<40 {
                let put = try writer.cli(["dht", "put", "--immutable", "item \(index)", "--json"])
                guard put.status == 0, let json = try? Self.json(put.stdout), (json["stored_on"] as? Int ?? 0) >= 1,
                      let target = json["target"] as? String else { break }
                acknowledged.append(target)
            }
            while storer.process.isRunning { usleep(20_000) }
            #expect(!acknowledged.isEmpty && acknowledged.count < 40, "the kill should land mid-way: \(acknowledged.count) puts acknowledged")
            let restarted = try NodeProcess(dataDirectory: storer.dataDirectory)
            let status = try Self.json(try restarted.cli(["dht", "status", "--json"]).stdout)
            #expect(status["items_stored"] as? Int ?? 0 >= acknowledged.count)
            #expect(writer.stop() == 0)  // the restarted node must answer from its own store
            for target in acknowledged {
                #expect(try restarted.cli(["dht", "get", target]).stdout.hasPrefix("item "), "lost \(target)")
            }
            #expect(restarted.stop() == 0)
        }

        @Test func ipv6NodesTalkOverLoopback() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            var nodes: [NodeProcess] = []
            for name in ["v6a", "v6b"] {
                let dir = root.appendingPathComponent(name).path
                _ = try PotluckProcess.run(["init", "--data-dir", dir])
                let bootstrap = nodes.first.map { ["--bootstrap", $0.endpoint] } ?? []
                nodes.append(try NodeProcess(dataDirectory: dir, arguments: ["--listen", "[::1]:0"] + bootstrap, listenOverride: true))
            }
            #expect(nodes[0].endpoint.hasPrefix("[::1]:"))
            #expect(try eventually { try Self.tableSize(nodes[0]) >= 1 })
            let put = try nodes[0].cli(["dht", "put", "over IPv6", "--salt", "v6"])
            #expect(put.status == 0, "\(put.stderr)")
            let target = put.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try nodes[1].cli(["dht", "get", target, "--salt", "v6"]).stdout == "over IPv6\n")
            for node in nodes { #expect(node.stop() == 0) }
        }

        @Test func aSecondNodeOnATakenPortFailsLoudly() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let first = try NodeProcess.start(in: root, name: "first")
            let dir = root.appendingPathComponent("second").path
            _ = try PotluckProcess.run(["init", "--data-dir", dir])
            let second = try PotluckProcess.run(["node", "--data-dir", dir, "--listen", first.endpoint, "--no-default-bootstrap"])
            #expect(second.status != 0)
            #expect(second.stderr.contains("cannot listen on \(first.endpoint)"), "\(second.stderr)")
            #expect(first.stop() == 0)
        }

        static func tableSize(_ node: NodeProcess) throws -> Int {
            let status = try node.cli(["dht", "status", "--json"])
            return (try? json(status.stdout))?["routing_table_size"] as? Int ?? 0
        }

        static func json(_ text: String) throws -> [String: Any] {
            try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        }
    }
}
