import Node

/// `potluck-bench dht-lookup`: a 500-node DHT on real loopback sockets (one socket and one
/// state machine per node, one owner task): lookup latency p50/p99, hops, the share of lookups
/// that found exactly the true 8 closest nodes, put/get success, and memory per node.
///
/// No independent reference runs this exact network yet (libtorrent's Python binding cannot host
/// 500 nodes in one run); the simulator of issue 4 will be the reference. Until then `reference`
/// and `ratio` are null.
func dhtLookupBench() async throws -> [BenchResult] {
    let report = try await LoopbackSwarm(nodes: 500, lookups: 200, items: 20, seed: 2026).run()
    let latencies = report.lookupLatencies.map { Double($0.components.seconds) * 1000 + Double($0.components.attoseconds) / 1e15 }
    let hops = report.hops.map(Double.init)
    var result = BenchResult(bench: "dht-lookup", caseName: "500 nodes, 200 lookups", unit: "ms (p50 lookup)",
                             potluck: percentile(latencies, 0.5), reference: .nan)
    result.extra = [
        ("latency_ms_p50", percentile(latencies, 0.5)), ("latency_ms_p99", percentile(latencies, 0.99)),
        ("hops_p50", percentile(hops, 0.5)), ("hops_max", hops.max() ?? 0),
        ("lookup_success_rate", Double(report.exactLookups) / Double(max(1, report.lookups))),
        ("put_success_rate", Double(report.putsStored) / Double(max(1, report.puts))),
        ("get_success_rate", Double(report.getsFound) / Double(max(1, report.gets))),
        ("memory_kib_per_node", Double(report.bytesPerNode) / 1024),
        ("timeouts", Double(report.timeouts)), ("dropped", Double(report.dropped)),
        ("setup_seconds", Double(report.setupDuration.components.seconds) + Double(report.setupDuration.components.attoseconds) / 1e18),
    ]
    return [result]
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}
