import Foundation
import Testing

/// Potluck nodes and independent libtorrent 2.0.8 DHT nodes on loopback, in one network.
extension CLIProcessTests {
    @Suite("Interop with libtorrent")
    struct InteropTests {
        @Test func libtorrentAndPotluckExchangeItemsAndAnswerEachOther() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let libtorrent = try LibtorrentFixture(nodes: 4)
            let bootstrap = libtorrent.ports.prefix(2).flatMap { ["--bootstrap", "127.0.0.1:\($0)"] }
            let dir = root.appendingPathComponent("potluck").path
            #expect(try PotluckProcess.run(["init", "--data-dir", dir]).status == 0)
            let potluck = try NodeProcess(dataDirectory: dir, arguments: bootstrap)
            let port = Int(potluck.endpoint.split(separator: ":").last!)!

            // Potluck joins through libtorrent; libtorrent takes Potluck into its tables.
            #expect(try eventually { try NodeCommandTests.tableSize(potluck) >= 4 })
            #expect(try libtorrent.call("add_node", ["host": "127.0.0.1", "port": port])["ok"] as? Bool == true)
            #expect(try eventually {
                let table = try libtorrent.call("table", ["node": 0])
                return (table["nodes"] as? [[String: Any]])?.contains { $0["port"] as? Int == port } == true
            })

            // Pings and find_node both ways.
            let pong = try libtorrent.call("ping", ["host": "127.0.0.1", "port": port])
            #expect(pong["ok"] as? Bool == true, "\(pong)")
            let found = try libtorrent.call("find_node", ["host": "127.0.0.1", "port": port])
            #expect((found["nodes"] as? [Any])?.isEmpty == false, "\(found)")
            let ping = try potluck.cli(["dht", "ping", "127.0.0.1:\(libtorrent.ports[3])", "--json"])
            #expect(ping.status == 0, "\(ping.stderr)")
            let lookup = try NodeCommandTests.json(try potluck.cli(["dht", "lookup", String(repeating: "f", count: 40), "--json"]).stdout)
            #expect((lookup["closest"] as? [Any])?.count == 4)

            // Items put by Potluck are read by libtorrent.
            let immutable = try potluck.cli(["dht", "put", "--immutable", "made by potluck"])
            let immutableTarget = immutable.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let gotImmutable = try libtorrent.call("get_immutable", ["node": 2, "target": immutableTarget])
            #expect(gotImmutable["found"] as? Bool == true && gotImmutable["value"] as? String == "made by potluck", "\(gotImmutable)")

            let mutable = try potluck.cli(["dht", "put", "signed by potluck", "--salt", "interop"])
            #expect(mutable.status == 0, "\(mutable.stderr)")
            let key = try NodeCommandTests.json(try PotluckProcess.run(["id", "--json", "--data-dir", dir]).stdout)["public_key"] as? String
            let gotMutable = try libtorrent.call("get_mutable", ["node": 1, "public_key": key ?? "", "salt": "interop"])
            #expect(gotMutable["found"] as? Bool == true && gotMutable["value"] as? String == "signed by potluck", "\(gotMutable)")
            #expect(gotMutable["seq"] as? Int == 1)

            // Items put by libtorrent are read by Potluck.
            let put = try libtorrent.call("put_immutable", ["node": 3, "value": "made by libtorrent"])
            let target = try #require(put["target"] as? String, "\(put)")
            #expect(try potluck.cli(["dht", "get", target]).stdout == "made by libtorrent\n")

            let seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
            let putMutable = try libtorrent.call("put_mutable", ["node": 0, "seed": seed, "salt": "lt", "value": "signed by libtorrent"])
            let mutableTarget = try #require(putMutable["target"] as? String, "\(putMutable)")
            #expect(putMutable["public_key"] as? String == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
            let read = try potluck.cli(["dht", "get", mutableTarget, "--salt", "lt", "--json"])
            let readJSON = try NodeCommandTests.json(read.stdout)
            #expect(readJSON["value"] as? String == "signed by libtorrent", "\(read.stderr)")
            #expect(readJSON["key"] as? String == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
            #expect(potluck.stop() == 0)
        }

        /// With no --bootstrap, two Potluck nodes meet through the "public" DHT (libtorrent nodes on
        /// loopback standing in for the Mainline routers) and join one overlay.
        @Test func potluckNodesMeetThroughThePublicDHT() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let libtorrent = try LibtorrentFixture(nodes: 4)
            var nodes: [NodeProcess] = []
            for (index, name) in ["a", "b"].enumerated() {
                let dir = root.appendingPathComponent(name).path
                #expect(try PotluckProcess.run(["init", "--data-dir", dir]).status == 0)
                nodes.append(try NodeProcess(dataDirectory: dir, arguments: ["--rendezvous-router", "127.0.0.1:\(libtorrent.ports[index])"],
                                             defaultBootstrap: true))
            }
            #expect(try eventually(timeout: 60) { try NodeCommandTests.tableSize(nodes[1]) >= 1 })
            #expect(try eventually(timeout: 60) { try NodeCommandTests.tableSize(nodes[0]) >= 1 })
            let put = try nodes[0].cli(["dht", "put", "met through the public DHT", "--salt", "hello"])
            #expect(put.status == 0, "\(put.stderr)")
            let target = put.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try nodes[1].cli(["dht", "get", target, "--salt", "hello"]).stdout == "met through the public DHT\n")
            // The overlay stays Potluck's own: libtorrent does not hold Potluck's item.
            let leaked = try libtorrent.call("get_immutable", ["node": 0, "target": target, "timeout": 5])
            #expect(leaked["found"] as? Bool != true)
            for node in nodes { #expect(node.stop() == 0) }
        }
    }
}
