#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `potluck-bench NAME [--json]`: release-mode benchmarks, each measuring Potluck and its
/// reference side by side in one run. Build with `swift run -c release potluck-bench NAME`.
@main
enum PotluckBench {
    static let benches: [(name: String, about: String, run: @Sendable () -> [BenchResult])] = [
        ("crypto", "ed25519 and BLAKE2b through Potluck's layer vs raw libsodium", cryptoBench),
        ("store", "LMDB put and get through Potluck's layer vs raw mdb_* calls", storeBench),
    ]

    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let json = arguments.contains("--json")
        let names = arguments.filter { $0 != "--json" }
        guard names.count == 1, let bench = benches.first(where: { $0.name == names[0] }) else {
            let list = benches.map(\.name).joined(separator: ", ")
            printError("usage: potluck-bench NAME [--json], where NAME is one of: \(list)")
            exit(2)
        }
        #if DEBUG
        printError("warning: this is a debug build; run 'swift run -c release potluck-bench \(bench.name)' for real figures")
        #endif
        report(bench.run(), json: json)
    }

    static func printError(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}
