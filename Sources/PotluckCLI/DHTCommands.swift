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
            var params = ["value": value, "immutable": immutable ? "true" : "false"]
            if let salt { params["salt"] = salt }
            let result = try callNode(data, "dht.put", params)
            if json { try printJSON(result) } else { print(result["target"]?.stringValue ?? "") }
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
            var params = ["target": target]
            if let salt { params["salt"] = salt }
            let result = try callNode(data, "dht.get", params)
            if json { try printJSON(result) } else {
                print(result["value"]?.stringValue ?? "(a non-string value, bencoded: \(result["value_bencoded_hex"]?.stringValue ?? ""))")
            }
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
            let result = try callNode(data, "dht.lookup", ["target": id])
            if json { return try printJSON(result) }
            for node in result["closest"]?.arrayValue ?? [] {
                print("\(node["id"]?.stringValue ?? "")  \(node["endpoint"]?.stringValue ?? "")")
            }
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
            let result = try callNode(data, "dht.ping", ["endpoint": endpoint])
            if json { return try printJSON(result) }
            print("\(result["node_id"]?.stringValue ?? "") answered in \(result["rtt_ms"]?.numberValue.map { String($0) } ?? "?") ms")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Routing table, items and counters of the running node.")
        @OptionGroup var data: DataDirectoryOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let result = try callNode(data, "dht.status", [:])
            if json { return try printJSON(result) }
            for key in ["node_id", "routing_table_size", "buckets", "items_stored", "own_items", "info_hashes_stored",
                        "pending_queries", "datagrams_received", "datagrams_sent", "queries_sent", "responses_received",
                        "timeouts", "errors_sent", "errors_received", "dial_backs_sent", "dial_backs_failed"] {
                print("\(key): \(Self.text(result[key]))")
            }
            print("queries_received: \(Self.text(result["queries_received"]))")
            print("dropped: \(Self.text(result["dropped"]))")
            let info = try? callNode(data, "node.info", [:])
            if let reach = info?["reachability"]?["summary"]?.stringValue { print("reachability: \(reach)") }
            if let channel = info?["job_channel"] { print("job_channel: \(Self.text(channel))") }
            for host in info?["bootstrap"]?.arrayValue ?? [] {
                print("bootstrap: \(Self.text(host["host"])) (\(Self.text(host["state"])), \(Self.text(host["attempts"])) attempts)")
            }
        }

        static func text(_ value: JSONValue?) -> String {
            switch value {
            case .string(let s)?: s
            case .number(let n)?: n == n.rounded() ? String(Int64(n)) : String(n)
            case .object(let o)?: o.isEmpty ? "none" : o.sorted { $0.key < $1.key }.map { "\($0.key)=\(text($0.value))" }.joined(separator: " ")
            default: "-"
            }
        }
    }
}

/// Sends one request to the data directory's running node; its error, if any, becomes the
/// command's one-line error.
func callNode(_ data: DataDirectoryOptions, _ method: String, _ params: [String: String]) throws -> JSONValue {
    let client = ControlClient(socketPath: ControlSocket.path(inDataDirectory: data.directory.path))
    let response: ControlResponse
    do { response = try client.send(ControlRequest(method: method, params: params)) } catch { throw CLIError(error.description) }
    guard response.ok, let result = response.result else { throw CLIError(response.error ?? "the node gave no answer") }
    return result
}
