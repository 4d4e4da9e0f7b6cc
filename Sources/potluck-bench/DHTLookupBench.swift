import Node

/// `potluck-bench dht-lookup`: a 500-node DHT on real loopback sockets (one socket and one
/// state machine per node, one owner task): lookup latency p50/p99, hops, the share of lookups
/// that found exactly the true 8 closest nodes, put/get success, and memory per node.
///
/// No independent reference runs this exact network yet (libtorrent's Python binding cannot host
/// 500 nodes in one run; `sim-vs-loopback` compares the simulator with it), so `reference` and
/// `ratio` are null. With a third of the nodes killed, the same swarm also runs the lookup rules
/// from before issue 19, as a before-and-after pair.
func dhtLookupBench() async throws -> [BenchResult] {
    var results = [try await dhtLookupCase(LoopbackSwarm(nodes: 500, lookups: 200, items: 20, seed: 2026), "500 nodes, 200 lookups")]
    // Issue 19: a third of the nodes killed after the tables are built, so lookups meet departed
    // peers everywhere; the node's rules, then the rules from before issue 19 on the same swarm.
    var killed = LoopbackSwarm(nodes: 500, lookups: 200, items: 20, seed: 2026)
    killed.killedFraction = 1.0 / 3
    results.append(try await dhtLookupCase(killed, "500 nodes, a third killed"))
    killed.classicRules = true
    results.append(try await dhtLookupCase(killed, "500 nodes, a third killed, pre-issue-19 rules"))
    return results
}

/// One swarm run as a row: lookup latency p50 (the headline), p99, hops, exactness, puts and
/// gets, memory, timeouts.
private func dhtLookupCase(_ swarm: LoopbackSwarm, _ name: String) async throws -> BenchResult {
    let report = try await swarm.run()
    let latencies = report.lookupLatencies.map { Double($0.components.seconds) * 1000 + Double($0.components.attoseconds) / 1e15 }
    let hops = report.hops.map(Double.init)
    var result = BenchResult(bench: "dht-lookup", caseName: name, unit: "ms (p50 lookup)",
                             potluck: percentile(latencies, 0.5), reference: .nan)
    result.extra = [
        ("latency_ms_p50", percentile(latencies, 0.5)), ("latency_ms_p99", percentile(latencies, 0.99)),
        ("hops_p50", percentile(hops, 0.5)), ("hops_max", hops.max() ?? 0),
        ("lookup_success_rate", Double(report.exactLookups) / Double(max(1, report.lookups))),
        ("lookup_recall", report.recallSum / Double(max(1, report.lookups))),
        ("put_success_rate", Double(report.putsStored) / Double(max(1, report.puts))),
        ("get_success_rate", Double(report.getsFound) / Double(max(1, report.gets))),
        ("memory_kib_per_node", Double(report.bytesPerNode) / 1024),
        ("timeouts", Double(report.timeouts)), ("dropped", Double(report.dropped)),
        ("setup_seconds", Double(report.setupDuration.components.seconds) + Double(report.setupDuration.components.attoseconds) / 1e18),
    ]
    return result
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}
