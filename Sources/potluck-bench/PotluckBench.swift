import Kademlia
import Sandbox
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `potluck-bench NAME [--json]`: release-mode benchmarks, each measuring Potluck and its
/// reference side by side in one run. Build with `swift run -c release potluck-bench NAME`.
@main
enum PotluckBench {
    static let benches: [(name: String, about: String, run: @Sendable () async throws -> [BenchResult])] = [
        ("crypto", "ed25519 and BLAKE2b through Potluck's layer vs raw libsodium", cryptoBench),
        ("store", "LMDB put and get through Potluck's layer vs raw mdb_* calls", storeBench),
        ("dht-lookup", "a 500-node DHT on real loopback sockets: lookup latency, hops, success, memory", dhtLookupBench),
        ("sim-vs-loopback", "the simulator's lookup success and hops beside the same 500-node network on real sockets", simVsLoopbackBench),
        ("trust", "one flow-based trust query on 100k peers / 1M receipts, beside a straightforward reference", trustBench),
        ("receipts", "receipts verified and stored per second, beside raw libsodium verifies / 2", receiptsBench),
        ("channel", "the job channel over loopback TCP beside raw libsodium secretstream and handshake crypto in memory", channelBench),
        ("dht-serve", "find_node and get answered per second: a Potluck node vs a libtorrent node, one core each", dhtServeBench),
        ("jobs", "a tiny job between two loopback nodes, end to end, beside the sandbox alone", jobsBench),
        ("sandbox", "a C sieve run as a wasm guest with fuel (in-process and via potluck-sandbox) vs natively", sandboxBench),
        ("native", "lent tools run directly vs under bubblewrap; a photo batch over 2 loopback lenders vs its ideal", nativeBench),
        ("attack", "issue 20's attacks on a loopback node: honest p50 under attack vs alone, peak memory, crashes", attackBench),
        ("reach", "a relay's throughput vs direct; jobs across the NAT lab's homes by path (root; --attempts N)", reachBench),
        ("match", "batch matching of 10k requests to 100k offers; cost beside scipy's exact optimum on 1k x 5k", matchBench),
        ("sim-vs-simgrid", "the simulator beside SimGrid 3.32 on its Kademlia example at 1k and 2k nodes (4k with --large)", simVsSimGridBench),
    ]

    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        // The benches run guests in this executable, as `potluck` does (spec 0014 §8).
        if arguments.first == SandboxRunner.childArgument { SandboxChild.main() }
        if arguments.first == "profile-core" { return profileCore() }
        if arguments.first == "simulate-one" { return simulateOne(Array(arguments.dropFirst())) }  // internal (sim-vs-simgrid)
        if arguments.first == "load", arguments.count == 3, let port = UInt16(arguments[1]), let seconds = Double(arguments[2]) {
            // Internal: load a node on 127.0.0.1:PORT for SECONDS (for profiling the serve path).
            let rate = (try? Loader.run(target: Endpoint(address: .v4(0x7f00_0001), port: port), seconds: seconds, window: 64)) ?? 0
            return print("\(Int(rate)) queries/s")
        }
        if arguments.first == "attack-worker" {
            do { try await attackWorker(Array(arguments.dropFirst())) } catch { printError("attack-worker: \(error)"); exit(1) }
            return
        }
        if arguments.first == "serve-node" {
            do { try await serveNode(Array(arguments.dropFirst())) } catch { printError("serve-node: \(error)"); exit(1) }
            return
        }
        let json = arguments.contains("--json")
        var names = arguments.filter { $0 != "--json" && $0 != "--large" }
        if let at = names.firstIndex(of: "--attempts") { names.removeSubrange(at..<min(names.count, at + 2)) }
        guard names.count == 1, let bench = benches.first(where: { $0.name == names[0] }) else {
            let list = benches.map(\.name).joined(separator: ", ")
            printError("usage: potluck-bench NAME [--json] [--large] [--attempts N], where NAME is one of: \(list)")
            exit(2)
        }
        #if DEBUG
        printError("warning: this is a debug build; run 'swift run -c release potluck-bench \(bench.name)' for real figures")
        #endif
        do {
            report(try await bench.run(), json: json)
        } catch {
            printError("potluck-bench \(bench.name): \(error)")
            exit(1)
        }
    }

    static func printError(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}
