import ArgumentParser
import Foundation
import Node

/// `potluck demo`: starts a small Potluck network on loopback with no configuration and shows
/// it working: lenders publish offers on the DHT, a borrower finds them and runs a bundled job
/// on one over the encrypted job channel, both sign the receipt and trust moves (``JobDemo``).
/// With `--dht` it shows the DHT alone (nodes join, find each other, publish and fetch items).
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start a small Potluck network on loopback and show it working.",
        discussion: """
            Real UDP and TCP sockets on 127.0.0.1; the nodes' data lives in a temporary directory             removed at the end. With --dht, only the DHT is shown (nothing is written to disk).
            """)

    @Flag(help: "Show the DHT alone: many nodes join, look up, publish and fetch.") var dht = false
    @Option(help: "How many lenders to start for the lending demo (1...8).") var lenders = 3
    @Option(help: "How many nodes to start with --dht (2...1000).") var nodes = 20
    @Option(help: "The seed of the demo's random choices.") var seed: UInt64 = 1

    func validate() throws {
        guard (2...1000).contains(nodes) else { throw ValidationError("--nodes must be between 2 and 1000") }
        guard (1...8).contains(lenders) else { throw ValidationError("--lenders must be between 1 and 8") }
    }

    func run() async throws {
        if !dht { return try await JobDemo(lenders: lenders).run() }
        print("Starting \(nodes) Potluck DHT nodes on 127.0.0.1, one UDP socket each…")
        let report = try await LoopbackSwarm(nodes: nodes, lookups: 10, items: 3, seed: seed).run()
        let milliseconds = { (d: Duration) in Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }
        print(String(format: "  joined: every node bootstrapped in %.0f ms", milliseconds(report.setupDuration)))
        let latencies = report.lookupLatencies.map(milliseconds).sorted()
        print(String(format: "  lookups: %d of %d found the true 8 closest nodes, each in at most %d hop(s) (median %.1f ms)",
                     report.exactLookups, report.lookups, report.hops.max() ?? 0, latencies.isEmpty ? 0 : latencies[latencies.count / 2]))
        print("  items: \(report.putsStored) of \(report.puts) published (BEP 44), \(report.getsFound) of \(report.gets) fetched from another node")
        print("Next: `potluck init` and `potluck node` run one node for real; `potluck simulate simulations/small.toml` runs 200 on a virtual network.")
        if report.exactLookups < report.lookups || report.getsFound < report.gets { throw ExitCode.failure }
    }
}
