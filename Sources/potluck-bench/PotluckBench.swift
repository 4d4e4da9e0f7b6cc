import ArgumentParser
import Kademlia
import Sandbox
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the user asked of a bench run.
struct BenchOptions: Sendable {
    var attempts = 20
    var large = false
}

/// `potluck-bench NAME [--json]`: release-mode benchmarks, each measuring Potluck and its
/// reference side by side in one run. Build with `swift run -c release potluck-bench NAME`.
@main
struct PotluckBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "potluck-bench",
        abstract: "Measure Potluck beside its reference, side by side in one run.",
        discussion: "Benches:\n" + benches.map { "  \($0.name): \($0.about)" }.joined(separator: "\n"))

    static let benches: [(name: String, about: String, run: @Sendable (BenchOptions) async throws -> [BenchResult])] = [
        ("crypto", "ed25519 and BLAKE2b through Potluck's layer vs raw libsodium", { _ in cryptoBench() }),
        ("store", "LMDB put and get through Potluck's layer vs raw mdb_* calls", { _ in storeBench() }),
        ("dht-lookup", "a 500-node DHT on real loopback sockets: lookup latency, hops, success, memory", { _ in try await dhtLookupBench() }),
        ("sim-vs-loopback", "the simulator's lookup success and hops beside the same 500-node network on real sockets", { _ in try await simVsLoopbackBench() }),
        ("trust", "one flow-based trust query on 100k peers / 1M receipts, beside a straightforward reference", { _ in try await trustBench() }),
        ("receipts", "receipts verified and stored per second, beside raw libsodium verifies / 2", { _ in try await receiptsBench() }),
        ("channel", "the job channel over loopback TCP beside raw libsodium secretstream and handshake crypto in memory", { _ in try await channelBench() }),
        ("dht-serve", "find_node and get answered per second: a Potluck node vs a libtorrent node, one core each", { _ in try await dhtServeBench() }),
        ("jobs", "a tiny job between two loopback nodes, end to end, beside the sandbox alone", { _ in try await jobsBench() }),
        ("sandbox", "a C sieve run as a wasm guest with fuel (in-process and via potluck-sandbox) vs natively", { _ in await sandboxBench() }),
        ("native", "lent tools run directly vs under bubblewrap; a photo batch over 2 loopback lenders vs its ideal", { _ in try await nativeBench() }),
        ("attack", "issue 20's attacks on a loopback node: honest p50 under attack vs alone, peak memory, crashes", { _ in try await attackBench() }),
        ("reach", "a relay's throughput vs direct; jobs across the NAT lab's homes by path (root; --attempts N)", { try await reachBench(attempts: $0.attempts) }),
        ("match", "batch matching of 10k requests to 100k offers; cost beside scipy's exact optimum on 1k x 5k", { _ in try await matchBench() }),
        ("api", "status requests through the HTTP control API vs the JSON-lines protocol it replaced; p50 and p99", { _ in try await apiBench() }),
        ("sim-vs-simgrid", "the simulator beside SimGrid 3.32 on its Kademlia example at 1k and 2k nodes (4k with --large)", { try await simVsSimGridBench(large: $0.large) }),
    ]

    @Argument(help: ArgumentHelp("The bench to run (listed below).", valueName: "NAME")) var name: String
    @Flag(help: "Print one JSON object per result line.") var json = false
    @Flag(help: "sim-vs-simgrid: also the 4k-node network.") var large = false
    @Option(help: "reach: jobs per pair of homes.") var attempts = 20

    init() {}

    func validate() throws {
        guard Self.benches.contains(where: { $0.name == name }) else {
            throw ValidationError("no bench named '\(name)': use one of \(Self.benches.map(\.name).joined(separator: ", "))")
        }
        guard attempts >= 1 else { throw ValidationError("--attempts must be 1 or more") }
    }

    func run() async throws {
        let bench = Self.benches.first { $0.name == name }!
        #if DEBUG
        Self.printError("warning: this is a debug build; run 'swift run -c release potluck-bench \(bench.name)' for real figures")
        #endif
        do {
            report(try await bench.run(BenchOptions(attempts: attempts, large: large)), json: json)
        } catch {
            Self.printError("potluck-bench \(bench.name): \(error)")
            throw ExitCode.failure
        }
    }

    /// The internal entry points this executable serves to its own child processes, before any
    /// argument parsing; `nil` for a person's command line.
    static func internalEntry(_ arguments: [String]) async -> Bool {
        // The benches run guests in this executable, as `potluck` does (spec 0014 §8).
        if arguments.first == SandboxRunner.childArgument { SandboxChild.main() }
        if arguments.first == "profile-core" { profileCore(); return true }
        if arguments.first == "simulate-one" { simulateOne(Array(arguments.dropFirst())); return true }  // internal (sim-vs-simgrid)
        if arguments.first == "load", arguments.count == 3, let port = UInt16(arguments[1]), let seconds = Double(arguments[2]) {
            // Internal: load a node on 127.0.0.1:PORT for SECONDS (for profiling the serve path).
            let rate = (try? Loader.run(target: Endpoint(address: .v4(0x7f00_0001), port: port), seconds: seconds, window: 64)) ?? 0
            print("\(Int(rate)) queries/s")
            return true
        }
        if arguments.first == "attack-worker" {
            do { try await attackWorker(Array(arguments.dropFirst())) } catch { printError("attack-worker: \(error)"); Glibc.exit(1) }
            return true
        }
        if arguments.first == "api-client" {
            do { try await apiClient(Array(arguments.dropFirst())) } catch { printError("api-client: \(error)"); Glibc.exit(1) }
            return true
        }
        if arguments.first == "serve-node" {
            do { try await serveNode(Array(arguments.dropFirst())) } catch { printError("serve-node: \(error)"); Glibc.exit(1) }
            return true
        }
        return false
    }

    static func main() async {
        if await internalEntry(Array(CommandLine.arguments.dropFirst())) { return }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand { try await asyncCommand.run() } else { try command.run() }
        } catch {
            exit(withError: error)
        }
    }

    static func printError(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}
