import Coordinates
import PotluckCrypto
import Foundation
import Kademlia
import Matching
import Node
import Records
import SeededRandom

/// `potluck-bench match` (issue 7, `spec/0016-matching.md` §5):
///
/// 1. **batch**: 10,000 requests against 100,000 offers with `Matcher.assign`, median of 5 runs:
///    `batch_seconds` and peak resident memory. The reference is the goal, 1 s:
///    `ratio` = 1 s / batch_seconds (above 1: under the goal).
/// 2. **quality**: 1,000 one-core requests against 5,000 one-core offers (an assignment
///    problem); the full placement-cost matrix (infeasible pairs at the unserved penalty) is
///    written to a temporary file and solved exactly by scipy's `linear_sum_assignment` in the
///    same run. `ratio` = optimal_cost / potluck_cost (1 is optimal; below 1, Potluck is worse).
/// 3. **solve time** on the quality instance: Potluck's `assign` beside scipy's solve alone
///    (matrix already loaded); `ratio` = scipy / Potluck (above 1: Potluck faster).
func matchBench() async throws -> [BenchResult] {
    let matcher = Matcher()
    let residentBefore = LoopbackSwarm.residentBytes()
    let big = MatchWorkload(seed: 7, requests: 10_000, offers: 100_000, unitCores: false)
    var times: [Double] = []
    var assignment = matcher.assign([], to: [])
    for _ in 0..<5 {
        let start = nowNanoseconds()
        assignment = matcher.assign(big.requests, to: big.offers, lenderIsBusy: big.lenderIsBusy, knownLenders: big.knownLenders)
        times.append(Double(nowNanoseconds() - start) / 1e9)
    }
    let seconds = median(times)
    var batch = BenchResult(bench: "match", caseName: "batch 10k requests x 100k offers", unit: "s", potluck: seconds, reference: 1)
    batch.ratioOverride = 1 / seconds
    batch.extra = [("batch_seconds", seconds), ("batch_seconds_min", times.min() ?? .nan),
                   ("peak_rss_mib", peakResidentMiB()),
                   ("rss_growth_mib", Double(LoopbackSwarm.residentBytes() - residentBefore) / Double(1 << 20)),
                   ("served", Double(assignment.servedCount)), ("arcs", Double(assignment.candidateArcs)),
                   ("fallbacks", Double(assignment.fallbacks)), ("bids", Double(assignment.bids)),
                   ("epsilon_bound_s", assignment.optimalityBoundSeconds)]
    return [batch] + (try qualityCases(matcher))
}

private func qualityCases(_ matcher: Matcher) throws -> [BenchResult] {
    let penalty = 1e6
    let options = AssignmentOptions(unassignedPenaltySeconds: penalty)
    let small = MatchWorkload(seed: 8, requests: 1_000, offers: 5_000, unitCores: true)
    var times: [Double] = []
    var assignment = matcher.assign([], to: [])
    for _ in 0..<5 {
        let start = nowNanoseconds()
        assignment = matcher.assign(small.requests, to: small.offers, options: options, lenderIsBusy: small.lenderIsBusy,
                                    knownLenders: small.knownLenders)
        times.append(Double(nowNanoseconds() - start) / 1e9)
    }
    let potluckCost = assignment.totalPlacementCost + penalty * Double(assignment.unserved.count)
    var matrix: [Double] = []
    matrix.reserveCapacity(small.requests.count * small.offers.count)
    for (r, request) in small.requests.enumerated() {
        let known = Dictionary(small.knownLenders(r).map { ($0.offer, $0.knowledge) }, uniquingKeysWith: { $1 })
        for o in small.offers.indices {
            let knowledge = known[o] ?? MatchKnowledge(lenderIsBusy: small.lenderIsBusy(o))
            let candidate = MatchCandidate(offer: small.offers[o], knowledge: knowledge)
            matrix.append(matcher.evaluate(request, candidate).components?.placementCostSeconds ?? penalty)
        }
    }
    let exact = try scipyOptimum(matrix, rows: small.requests.count, columns: small.offers.count)
    var quality = BenchResult(bench: "match", caseName: "quality 1k x 5k vs scipy optimum", unit: "cost_s",
                              potluck: potluckCost, reference: exact.cost)
    quality.ratioOverride = exact.cost / potluckCost
    quality.extra = [("potluck_cost", potluckCost), ("optimal_cost", exact.cost),
                     ("excess_percent", (potluckCost / exact.cost - 1) * 100),
                     ("excess_seconds_per_request", (potluckCost - exact.cost) / Double(small.requests.count)),
                     ("epsilon_bound_s", assignment.optimalityBoundSeconds), ("bids", Double(assignment.bids)),
                     ("potluck_served", Double(assignment.servedCount)), ("optimal_served", exact.served)]
    var speed = BenchResult(bench: "match", caseName: "solve time 1k x 5k, Potluck vs scipy", unit: "s",
                            potluck: median(times), reference: exact.seconds)
    speed.ratioOverride = exact.seconds / median(times)
    return [quality, speed]
}

/// Solves the `rows` × `columns` cost matrix exactly with scipy; the cost, the rows on a
/// feasible (below-penalty) entry, and the solve time alone.
private func scipyOptimum(_ matrix: [Double], rows: Int, columns: Int) throws -> (cost: Double, served: Double, seconds: Double) {
    let directory = makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = directory + "/cost.f64"
    try matrix.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: path))
    let script = """
        import sys, time
        try:
            import numpy as np
            from scipy.optimize import linear_sum_assignment
        except ImportError:
            print("missing"); sys.exit(3)
        c = np.fromfile(sys.argv[1], dtype='<f8').reshape(int(sys.argv[2]), int(sys.argv[3]))
        t = time.perf_counter(); r, k = linear_sum_assignment(c); t = time.perf_counter() - t
        print(repr(float(c[r, k].sum())), int((c[r, k] < 1e6).sum()), repr(t))
        """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script, path, String(rows), String(columns)]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { throw BenchError("python3 is missing: install python3 and scipy (pip install --break-system-packages scipy)") }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let fields = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isWhitespace)
    guard process.terminationStatus == 0, fields.count == 3, let cost = Double(fields[0]), let served = Double(fields[1]),
          let seconds = Double(fields[2]) else {
        throw BenchError("scipy is missing: pip install --break-system-packages scipy (or python3 -m pip install --user scipy)")
    }
    return (cost, served, seconds)
}

/// The peak resident set (VmHWM) of this process, MiB.
private func peakResidentMiB() -> Double {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kib = Double(line.split(whereSeparator: \.isWhitespace).dropFirst().first ?? "") else { return .nan }
    return kib / 1024
}

/// A synthetic market: lenders spread over a 300 ms × 300 ms Vivaldi plane in a few dense
/// "cities" and a uniform background, heights 0–20 ms; 90% of offers run wasm32-wasi; some have
/// windows, allow or deny lists, or lend only while idle. Borrowers follow the same geography.
struct MatchWorkload {
    var requests: [MatchRequest] = []
    var offers: [Offer] = []
    let now: Int64 = 1_767_268_800  // 2026-01-01 12:00 UTC

    init(seed: UInt64, requests requestCount: Int, offers offerCount: Int, unitCores: Bool) {
        var random = SplitMix64(seed: seed)
        func uniform(_ range: ClosedRange<Double>) -> Double { Double.random(in: range, using: &random) }
        let cities = (0..<12).map { _ in (uniform(20...280), uniform(20...280)) }
        func place() -> (Double, Double) {
            guard Int.random(in: 0..<3, using: &random) > 0 else { return (uniform(0...300), uniform(0...300)) }
            let city = cities[Int.random(in: 0..<cities.count, using: &random)]
            return (city.0 + uniform(-15...15), city.1 + uniform(-15...15))
        }
        let keys = (0..<64).map { i in PublicKey(raw: Bytes32(Array(repeating: UInt8(i), count: 32)) ?? Bytes32()) }
        let windows = [TimeWindow("08:00-18:00"), TimeWindow("22:00-06:00")].compactMap { $0 }
        for i in 0..<offerCount {
            let (x, y) = place()
            let kind = Int.random(in: 0..<20, using: &random)
            offers.append(Offer(
                lender: PublicKey(raw: Bytes32(random.bytes(32)) ?? Bytes32()),
                cores: unitCores ? 1 : Int.random(in: 1...8, using: &random),
                memoryBytes: Int64.random(in: 1...16, using: &random) << 30,
                runtimes: kind < 2 ? ["native-x86_64"] : kind < 4 ? ["native-x86_64", "wasm32-wasi"] : ["wasm32-wasi"],
                windows: kind == 5 ? [windows[i % 2]] : [], idleOnly: kind == 6,
                policy: kind == 7 ? OfferPolicy(denied: [keys[i % 64]]) : kind == 8 ? OfferPolicy(allowed: [keys[i % 64]]) : OfferPolicy(),
                endpoint: "udp://192.0.2.1:6881", coordinates: [x, y, uniform(0...20)], expiry: now + 3600))
        }
        for _ in 0..<requestCount {
            let (x, y) = place()
            requests.append(MatchRequest(
                borrower: keys[Int.random(in: 0..<64, using: &random)], runtime: "wasm32-wasi",
                cores: unitCores ? 1 : Int.random(in: 1...4, using: &random),
                memoryBytes: Int64.random(in: 0...8, using: &random) << 29, workCoreSeconds: uniform(10...3600),
                coordinate: VivaldiCoordinate(vector: [x, y], height: uniform(0...20)), now: now))
        }
    }

    /// A third of the lenders are busy, a third idle, a third of unknown state.
    func lenderIsBusy(_ o: Int) -> Bool? { [true, false, nil][o % 3] }

    /// The lenders borrower `r` knows (about 8, a fixed function of `r`: trust both ways, a
    /// friend now and then), scattered over all the offers.
    func knownLenders(_ r: Int) -> [(offer: Int, knowledge: MatchKnowledge)] {
        var random = SplitMix64(seed: UInt64(r) &* 0x9E37_79B9_7F4A_7C15 &+ 1)
        return (0..<8).map { _ in
            let offer = Int(random.next() % UInt64(offers.count))
            return (offer, MatchKnowledge(trustInLender: Double(random.next() % 1000) / 1000,
                                          lenderTrustInBorrower: Double(random.next() % 1000) / 1000,
                                          isFriendOfLender: random.next() % 8 == 0, lenderIsBusy: lenderIsBusy(offer)))
        }
    }
}
