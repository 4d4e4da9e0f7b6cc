import ControlAPI
import ArgumentParser
import Foundation
import Kademlia
import Node

/// `potluck dht …`: talks to the running node of a data directory through its control socket.
struct DHTCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dht", abstract: "Use the DHT through the running node.",
        subcommands: [Put.self, Get.self, Lookup.self, Ping.self, Status.self])

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store VALUE (as a bencoded string) and print its target.",
            discussion: "Mutable by default: signed with this node's identity, with a sequence number one above the last.")
        @OptionGroup var data: DataDirectoryOptions
        @Option(help: "The mutable item's salt (BEP 44), up to 64 bytes.") var salt: String?
        @Flag(help: "Store an immutable item (its target is the SHA-1 of the value).") var immutable = false
        @Flag(help: "Print JSON.") var json = false
        @Argument(help: "The value.") var value: String

        func run() async throws {
            let result = try await callNode(data, .put(PutRequest(value: value, salt: salt, immutable: immutable)))
            if json { try printJSON(result) } else { print(result.target) }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Fetch the item with TARGET and print its value.")
        @OptionGroup var data: DataDirectoryOptions
        @Option(help: "The mutable item's salt, if it has one.") var salt: String?
        @Flag(help: "Print JSON with seq, key and signature.") var json = false
        @Argument(help: "The target, 40 hex digits.") var target: String

        func validate() throws {
            guard NodeID(hex: target) != nil else { throw ValidationError("'\(target)' is not a target: give 40 hex digits") }
        }

        func run() async throws {
            let result = try await callNode(data, .item(target, salt: salt))
            if json { try printJSON(result) } else { print(result.value ?? "(a non-string value, bencoded: \(result.valueBencodedHex))") }
        }
    }

    struct Lookup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Find the nodes closest to ID.")
        @OptionGroup var data: DataDirectoryOptions
        @Flag(help: "Print JSON.") var json = false
        @Argument(help: "The id, 40 hex digits.") var id: String

        func validate() throws {
            guard NodeID(hex: id) != nil else { throw ValidationError("'\(id)' is not an id: give 40 hex digits") }
        }

        func run() async throws {
            let result = try await callNode(data, .lookup(id))
            if json { return try printJSON(result) }
            for node in result.closest { print("\(node.id)  \(node.endpoint)") }
        }
    }

    struct Ping: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Ping a DHT node at HOST:PORT.")
        @OptionGroup var data: DataDirectoryOptions
        @Flag(help: "Print JSON.") var json = false
        @Argument(help: "HOST:PORT or [HOST]:PORT.") var endpoint: String

        func validate() throws {
            guard Endpoint(endpoint) != nil else { throw ValidationError("'\(endpoint)' is not an address: use HOST:PORT") }
        }

        func run() async throws {
            let result = try await callNode(data, .ping(endpoint))
            if json { return try printJSON(result) }
            print("\(result.nodeID) answered in \(result.rttMs) ms")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Routing table, items and counters of the running node.")
        @OptionGroup var data: DataDirectoryOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let status = try await callNode(data, .dhtStatus)
            if json { return try printJSON(status) }
            let rows: [(String, Int)] = [
                ("routing_table_size", status.routingTableSize), ("buckets", status.buckets), ("items_stored", status.itemsStored),
                ("own_items", status.ownItems), ("info_hashes_stored", status.infoHashesStored), ("pending_queries", status.pendingQueries),
                ("datagrams_received", status.datagramsReceived), ("datagrams_sent", status.datagramsSent), ("queries_sent", status.queriesSent),
                ("responses_received", status.responsesReceived), ("timeouts", status.timeouts), ("errors_sent", status.errorsSent),
                ("errors_received", status.errorsReceived), ("dial_backs_sent", status.dialBacksSent), ("dial_backs_failed", status.dialBacksFailed),
            ]
            print("node_id: \(status.nodeID)")
            for (key, value) in rows { print("\(key): \(value)") }
            print("queries_received: \(Self.text(status.queriesReceived))")
            print("dropped: \(Self.text(status.dropped))")
            let info = try? await callNode(data, .nodeInfo)
            if let reach = info?.reachability?.summary { print("reachability: \(reach)") }
            if let channel = info?.jobChannel {
                print("job_channel: " + Self.text(["established": channel.established, "evicted": channel.evicted, "failed_handshakes": channel.failedHandshakes,
                                                   "open": channel.open, "refused": channel.refused]))
            }
            for host in info?.bootstrap ?? [] { print("bootstrap: \(host.host) (\(host.state), \(host.attempts) attempts)") }
        }

        /// `key=value` pairs in key order, or `none`.
        static func text(_ counts: [String: Int]) -> String {
            counts.isEmpty ? "none" : counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
    }
}

/// Calls the data directory's running node; its error, if any, becomes the command's one-line
/// error.
func callNode<Answer>(_ data: DataDirectoryOptions, _ route: APIRoute<Answer>) async throws -> Answer {
    do { return try await ControlClient(dataDirectory: data.directory.path).call(route) } catch { throw CLIError(error.description) }
}
