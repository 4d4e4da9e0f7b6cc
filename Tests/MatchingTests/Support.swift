// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import Coordinates
import PotluckCrypto
import Matching
import Records
import SeededRandom


/// A key whose 32 bytes all equal `byte` (tests only compare keys; they never verify).
func testKey(_ byte: UInt8) -> PublicKey {
    PublicKey(raw: Bytes32(Array(repeating: byte, count: 32)) ?? Bytes32())
}

/// 12:00 UTC on 2026-01-01, in Unix seconds.
let noon: Int64 = 1_767_268_800

/// An offer at plane point (x, y) with height h, lending `cores` cores and 8 GiB of wasm32-wasi.
func testOffer(_ lender: UInt8, x: Double, y: Double, h: Double = 1, cores: Int = 4, runtimes: [String] = ["wasm32-wasi"],
               windows: [TimeWindow] = [], idleOnly: Bool = false, busySince: Int64? = nil, policy: OfferPolicy = OfferPolicy(),
               memoryBytes: Int64 = 8 << 30, expiry: Int64 = noon + 3600) -> Offer
{
    Offer(lender: testKey(lender), cores: cores, memoryBytes: memoryBytes, runtimes: runtimes, windows: windows,
          idleOnly: idleOnly, busySince: busySince, policy: policy, endpoint: "udp://192.0.2.\(lender):6881", coordinates: [x, y, h], expiry: expiry)
}

func testRequest(_ borrower: UInt8 = 200, x: Double = 0, y: Double = 0, h: Double = 1, cores: Int = 1, work: Double = 60,
                 memoryBytes: Int64 = 1 << 30, maxLatencyMs: Double? = nil, now: Int64 = noon) -> MatchRequest
{
    MatchRequest(borrower: testKey(borrower), runtime: "wasm32-wasi", cores: cores, memoryBytes: memoryBytes, workCoreSeconds: work,
                 coordinate: VivaldiCoordinate(vector: [x, y], height: h), now: now, maxLatencyMs: maxLatencyMs)
}

/// Random requests, offers and knowledge over a small pool of keys, so that every constraint
/// (runtime, cores, memory, window, allow and deny lists, idle, expiry, distance) bites often.
struct RandomInstance {
    var requests: [MatchRequest] = []
    var offers: [Offer] = []
    var busy: [Bool?] = []
    var known: [[Int: MatchKnowledge]] = []

    init(seed: UInt64, requests requestCount: Int, offers offerCount: Int, unitCores: Bool = false) {
        var random = SplitMix64(seed: seed)
        let runtimes = ["wasm32-wasi", "native-x86_64"]
        for i in 0..<offerCount {
            let lender = UInt8(1 + i % 150)
            var windows: [TimeWindow] = []
            if Int.random(in: 0..<4, using: &random) == 0,
               let window = TimeWindow(startMinute: Int.random(in: 0..<1440, using: &random), endMinute: Int.random(in: 0..<1440, using: &random)) {
                windows = [window]
            }
            var policy = OfferPolicy()
            switch Int.random(in: 0..<6, using: &random) {
            case 0: policy = OfferPolicy(denied: [testKey(UInt8(200 + Int.random(in: 0..<8, using: &random)))])
            case 1: policy = OfferPolicy(allowed: [testKey(UInt8(200 + Int.random(in: 0..<8, using: &random)))])
            default: break
            }
            let located = Int.random(in: 0..<10, using: &random) > 0
            offers.append(Offer(
                lender: testKey(lender), cores: unitCores ? Int.random(in: 1...3, using: &random) : Int.random(in: 1...8, using: &random),
                memoryBytes: Int64.random(in: 0...(16 << 30), using: &random),
                runtimes: [runtimes[Int.random(in: 0..<2, using: &random)]] + (Bool.random(using: &random) ? runtimes : []),
                windows: windows, idleOnly: Int.random(in: 0..<4, using: &random) == 0, policy: policy, endpoint: "udp://192.0.2.1:1",
                coordinates: located ? [Double.random(in: 0...300, using: &random), Double.random(in: 0...300, using: &random),
                                        Double.random(in: 0...20, using: &random)] : nil,
                expiry: noon + Int64.random(in: -600...3600, using: &random)))
            // Half the idle-only lenders say their owner is at the machine (no draw: other
            // instances stay as they were).
            if offers[offers.count - 1].idleOnly && offers.count % 2 == 0 { offers[offers.count - 1].busySince = noon - 60 }
        }
        for _ in 0..<requestCount {
            requests.append(MatchRequest(
                borrower: testKey(UInt8(200 + Int.random(in: 0..<8, using: &random))), runtime: runtimes[Int.random(in: 0..<2, using: &random)],
                cores: unitCores ? 1 : Int.random(in: 1...4, using: &random), memoryBytes: Int64.random(in: 0...(8 << 30), using: &random),
                workCoreSeconds: Double.random(in: 0...600, using: &random),
                coordinate: VivaldiCoordinate(vector: [Double.random(in: 0...300, using: &random), Double.random(in: 0...300, using: &random)],
                                              height: Double.random(in: 0...20, using: &random)),
                now: noon + Int64.random(in: 0...86_400, using: &random),
                maxLatencyMs: Int.random(in: 0..<4, using: &random) == 0 ? 150 : nil))
        }
        busy = offers.map { _ in [true, false, nil][Int.random(in: 0..<3, using: &random)] }
        known = requests.map { _ in
            var lenders: [Int: MatchKnowledge] = [:]
            for _ in 0..<Int.random(in: 0...8, using: &random) {
                lenders[Int.random(in: 0..<offerCount, using: &random)] = MatchKnowledge(
                    measuredRTTMs: Int.random(in: 0..<3, using: &random) == 0 ? Double.random(in: 1...300, using: &random) : nil,
                    trustInLender: Double.random(in: -0.2...1, using: &random),
                    lenderTrustInBorrower: Bool.random(using: &random) ? Double.random(in: 0...1, using: &random) : nil,
                    isFriendOfLender: Int.random(in: 0..<4, using: &random) == 0 ? true : nil)
            }
            return lenders
        }
    }

    /// What the borrower of `request` knows of the lender of `offer`: its own record, else a
    /// stranger's view; the lender's busy state in both cases.
    func knowledge(_ request: Int, _ offer: Int) -> MatchKnowledge {
        var knowledge = known[request][offer] ?? MatchKnowledge()
        knowledge.lenderIsBusy = busy[offer]
        return knowledge
    }

    func knownLenders(_ request: Int) -> [(offer: Int, knowledge: MatchKnowledge)] {
        known[request].keys.sorted().map { ($0, knowledge(request, $0)) }
    }

    func lenderIsBusy(_ offer: Int) -> Bool? { busy[offer] }
}

/// The exact minimum-cost assignment of every row of an n × m cost matrix (n ≤ m): the
/// Hungarian method with potentials (Kuhn 1955, Munkres 1957; the O(n²m) shortest augmenting
/// path form). Returns the minimum total cost.
func hungarianMinimumCost(_ cost: [[Double]]) -> Double {
    let n = cost.count
    guard n > 0 else { return 0 }
    let m = cost[0].count
    precondition(n <= m, "more rows than columns")
    var u = [Double](repeating: 0, count: n + 1), v = [Double](repeating: 0, count: m + 1)
    var p = [Int](repeating: 0, count: m + 1), way = [Int](repeating: 0, count: m + 1)
    for i in 1...n {
        p[0] = i
        var j0 = 0
        var minv = [Double](repeating: .infinity, count: m + 1)
        var used = [Bool](repeating: false, count: m + 1)
        repeat {
            used[j0] = true
            let i0 = p[j0]
            var delta = Double.infinity, j1 = 0
            for j in 1...m where !used[j] {
                let current = cost[i0 - 1][j - 1] - u[i0] - v[j]
                if current < minv[j] { minv[j] = current; way[j] = j0 }
                if minv[j] < delta { delta = minv[j]; j1 = j }
            }
            for j in 0...m {
                if used[j] { u[p[j]] += delta; v[j] -= delta } else { minv[j] -= delta }
            }
            j0 = j1
        } while p[j0] != 0
        repeat {
            let j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
        } while j0 != 0
    }
    var total = 0.0
    for j in 1...m where p[j] != 0 { total += cost[p[j] - 1][j - 1] }
    return total
}
