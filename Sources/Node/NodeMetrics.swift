import Foundation
import Jobs
import Kademlia
import Metrics
import Prometheus
import Sandbox
import Synchronization

/// The node's metrics (`spec/0008-control-api.md` §5), recorded through swift-metrics and
/// served in Prometheus's text format at `/metrics` on the dashboard's port.
///
/// Events the drivers see (a job ending, a lookup finishing) are recorded as they happen; the
/// DHT core's own counters (sans-I/O, shared with the simulator, so free of any metrics calls)
/// and what the stores hold are read at each scrape.
public enum NodeMetrics {
    /// The process's registry. swift-metrics is bootstrapped to it on first use, once per
    /// process: nodes run in one process (the demo, tests) share it.
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [.milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                                                   .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30)]
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    /// Starts recording: call before the node does anything worth counting.
    public static func start() { _ = registry }

    /// A job lent or borrowed ended: `potluck_jobs_total{role, result}`, and for the limits the
    /// sandbox enforced, `potluck_sandbox_kills_total{reason}`.
    static func jobEnded(role: JobRecord.Role, termination: GuestTermination?, bytesIn: Int, bytesOut: Int) {
        let result = termination?.kind ?? "failed"
        Counter(label: "potluck_jobs_total", dimensions: [("role", role.rawValue), ("result", result)]).increment()
        switch termination {
        case .outOfFuel?, .memoryLimit?, .deadline?, .outputLimit?:
            Counter(label: "potluck_sandbox_kills_total", dimensions: [("reason", result)]).increment()
        default: break
        }
        Counter(label: "potluck_job_bytes_total", dimensions: [("direction", "in")]).increment(by: bytesIn)
        Counter(label: "potluck_job_bytes_total", dimensions: [("direction", "out")]).increment(by: bytesOut)
    }

    /// A lookup asked through the API finished (`get_peers`, `find_node`, `get`).
    static func lookupFinished(_ kind: String, _ result: LookupResult) {
        Metrics.Timer(label: "potluck_dht_lookup_duration_seconds", dimensions: [("kind", kind)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(Int64(result.duration.components.seconds) * 1_000_000_000 + result.duration.components.attoseconds / 1_000_000_000)
    }
}

/// Brings the scrape-time figures up to date, then renders the registry.
final class MetricsScrape: Sendable {
    private let last = Mutex<[String: Int]>([:])

    func render(status: DHTNode.Status?, receipts: Int?) -> [UInt8] {
        if let status {
            let counters = status.counters
            count("potluck_dht_datagrams_received_total", to: counters.datagramsReceived)
            count("potluck_dht_datagrams_sent_total", to: counters.datagramsSent)
            for (method, value) in counters.queriesReceived { count("potluck_dht_queries_received_total", [("method", method)], to: value) }
            count("potluck_dht_queries_sent_total", to: counters.queriesSent)
            count("potluck_dht_responses_received_total", to: counters.responsesReceived)
            count("potluck_dht_errors_received_total", to: counters.errorsReceived)
            count("potluck_dht_errors_sent_total", to: counters.errorsSent)
            count("potluck_dht_timeouts_total", to: counters.timeouts)
            for (reason, value) in counters.dropped { count("potluck_dht_dropped_datagrams_total", [("reason", reason)], to: value) }
            Gauge(label: "potluck_dht_routing_table_nodes").record(status.routingTableSize)
            Gauge(label: "potluck_dht_items_stored").record(status.itemsStored)
        }
        if let receipts { Gauge(label: "potluck_receipts_stored").record(receipts) }
        return NodeMetrics.registry.emitToBuffer()
    }

    /// Raises the counter `label` to the core's running total `value` (Prometheus counters
    /// only go up; the core counts from the node's start, as the registry does).
    private func count(_ label: String, _ dimensions: [(String, String)] = [], to value: Int) {
        let key = label + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        let delta = last.withLock { last in
            defer { last[key] = max(last[key] ?? 0, value) }
            return value - (last[key] ?? 0)
        }
        // Created at 0 even before the first event, so that a scrape shows every series.
        let counter = Counter(label: label, dimensions: dimensions)
        if delta > 0 { counter.increment(by: delta) }
    }
}
