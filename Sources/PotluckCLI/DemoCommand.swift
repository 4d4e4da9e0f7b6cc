import ArgumentParser
import Foundation
import Node

/// `potluck demo`: starts a small Potluck network on loopback with no configuration and shows
/// it working. Today it shows the DHT (nodes join, find each other, publish and fetch items);
/// lending and borrowing compute join it with the job channel (issue 6).
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start a small Potluck network on loopback and show it working.",
        discussion: "Real UDP sockets on 127.0.0.1, one per node; nothing is written to disk.")

    @Option(help: "How many nodes to start (2...1000).") var nodes = 20
    @Option(help: "The seed of the demo's random choices.") var seed: UInt64 = 1

    func validate() throws {
        guard (2...1000).contains(nodes) else { throw ValidationError("--nodes must be between 2 and 1000") }
    }

    func run() async throws {
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
