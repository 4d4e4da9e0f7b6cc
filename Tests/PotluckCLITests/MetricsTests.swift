import ControlAPI
import ExampleJobs
import Foundation
import Testing

/// `/metrics` (spec 0008 §5) read during a loopback run by an independent Prometheus text
/// parser (`prometheus_client`, Debian's python3-prometheus-client), its figures checked
/// against what the run did.
extension CLIProcessTests {
    @Suite("metrics")
    struct MetricsTests {
        /// Every sample of `text` as `name{label=value,…}` → value, as the parser reads them.
        static func parse(_ text: String) throws -> [String: Double] {
            let parser = Process()
            parser.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            parser.arguments = ["-c", """
                import json, sys
                from prometheus_client.parser import text_string_to_metric_families
                samples = {}
                for family in text_string_to_metric_families(sys.stdin.read()):
                    for s in family.samples:
                        labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
                        samples[s.name + ("{" + labels + "}" if labels else "")] = s.value
                print(json.dumps(samples))
                """]
            let input = Pipe(), output = Pipe(), errors = Pipe()
            parser.standardInput = input
            parser.standardOutput = output
            parser.standardError = errors
            try parser.run()
            input.fileHandleForWriting.write(Data(text.utf8))
            try input.fileHandleForWriting.close()
            let json = output.fileHandleForReading.readDataToEndOfFile()
            let complaint = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            parser.waitUntilExit()
            #expect(parser.terminationStatus == 0, "the parser refused /metrics: \(complaint)")
            return try #require(try JSONSerialization.jsonObject(with: json) as? [String: Double])
        }

        static func scrape(_ node: NodeProcess) async throws -> [String: Double] {
            let url = try #require(try await ControlClient(dataDirectory: node.dataDirectory).call(.nodeInfo).http)
            let port = try #require(url.split(separator: ":").last.flatMap { Int($0) })
            let token = try String(contentsOfFile: node.dataDirectory + "/api.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let answer = try await ControlClient(address: .tcp(host: "127.0.0.1", port: port), token: token).exchange(.get, "/metrics")
            #expect(answer.status == 200)
            return try parse(String(decoding: answer.body, as: UTF8.self))
        }

        @Test func theCountersMatchWhatALoopbackRunDid() async throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let (lender, borrower) = try NodeProcess.lenderAndBorrower(in: root)

            // Five pings from the borrower, two jobs on the lender: one exits, one runs out of fuel.
            for _ in 0..<5 { #expect(try borrower.cli(["dht", "ping", lender.endpoint]).status == 0) }
            let primes = root.appendingPathComponent("primes.wasm").path
            #expect(FileManager.default.createFile(atPath: primes, contents: Data(ExampleJobs.primes)))
            let ran = try PotluckProcess.run(["run", primes, "--data-dir", borrower.dataDirectory, "--", "1000"])
            #expect(ran.status == 0, "\(ran.stderr)")
            let starved = try PotluckProcess.run(["run", primes, "--cpu", "1s", "--data-dir", borrower.dataDirectory, "--", "50000000"])
            #expect(starved.status == 152, "\(starved.stderr)")
            #expect(try eventually(timeout: 10) { try lender.cli(["receipts", "list", "--json"]).stdout.split(separator: "\n").count == 2 })

            let metrics = try await Self.scrape(lender)
            let status = try await ControlClient(dataDirectory: lender.dataDirectory).call(.dhtStatus)
            #expect(metrics["potluck_jobs_total{result=exited,role=lent}"] == 1, "\(metrics)")
            #expect(metrics["potluck_jobs_total{result=outOfFuel,role=lent}"] == 1)
            #expect(metrics["potluck_sandbox_kills_total{reason=outOfFuel}"] == 1)
            #expect(metrics["potluck_job_bytes_total{direction=in}"] ?? 0 >= 2 * Double(ExampleJobs.primes.count))
            #expect(metrics["potluck_receipts_stored"] == 2)
            #expect(metrics["potluck_dht_routing_table_nodes"] == Double(status.routingTableSize))
            // Read after the scrape: the core's counters can only have grown since.
            let pings = try #require(metrics["potluck_dht_queries_received_total{method=ping}"])
            #expect(pings >= 5 && pings <= Double(status.queriesReceived["ping"] ?? 0))
            #expect(metrics["potluck_dht_datagrams_received_total"] ?? 0 <= Double(status.datagramsReceived))
            #expect(metrics["potluck_dht_datagrams_received_total"] ?? 0 >= pings)

            // A lookup through the API lands in the latency histogram.
            _ = try await ControlClient(dataDirectory: lender.dataDirectory).call(.lookup(status.nodeID))
            let after = try await Self.scrape(lender)
            #expect(after["potluck_dht_lookup_duration_seconds_count{kind=find_node}"] == 1)
            #expect(after["potluck_dht_lookup_duration_seconds_bucket{kind=find_node,le=+Inf}"] == 1)
        }
    }
}
