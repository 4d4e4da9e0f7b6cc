// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Coordinates
import PotluckCrypto
import Foundation
import Jobs
import Lending
import Matching
import Records
import Trust

/// A simulated lending economy (`spec/0018-lending-simulation.md`, issues 4 and 7): lenders,
/// borrowers and a community rule, run on a virtual clock with the very pure code a node runs —
/// ``Matcher`` pairs requests with offers (batch `assign` or per-request `rank`), each lender's
/// ``JobLine`` under its ``LenderPolicy`` orders what it serves, and every finished job counts
/// in a ``WorkGraph`` whose flow scores (`spec/0012-trust.md`) steer the lines.
///
/// It is a pure function of (scenario, seed, code): one ``SimulationRandom`` makes every choice,
/// events run in (time, sequence) order, and ``trace`` fingerprints the economy's events.
/// Offers are assumed known: the real node finds them through the DHT, which this run abstracts.
public final class LendingSimulation {
    public let scenario: Scenario
    let lending: Scenario.Lending
    public var hooks = SimulationHooks()

    /// The current virtual time, in nanoseconds.
    public internal(set) var now: UInt64 = 0
    public internal(set) var trace = TraceHash()
    public internal(set) var eventsProcessed: UInt64 = 0
    public internal(set) var metrics: LendingMetrics
    public internal(set) var series: [LendingSample] = []

    var random: SimulationRandom
    var queue = EventQueue<LendingEventKind>()
    let placement: HostPlacement
    let matcher = Matcher()
    static let runtime = "wasm32-wasi"
    /// The digest every simulated job goes by: only receipts would tell jobs apart, and they
    /// name the job by number here.
    static let digest = Bytes32()

    // Peers, struct of arrays.
    var peerClass: [PeerClass]
    var joined: [Bool]
    /// When the peer's current identity first appeared (0 for the peers present at the start).
    var identityBorn: [UInt64]
    var generation: [UInt32]
    var coordinates: [VivaldiCoordinate]
    /// The last lenders (slots) that served each peer's current identity, most recent last.
    var known: [[Int32]]

    // Lenders, by slot.
    var lenderPeer: [UInt32] = []
    var lenderSlot: [Int32]
    /// Each lender's desk (``LenderDesk``), as its node would run it.
    var desks: [LenderDesk] = []
    /// Jobs on their way to each lender (already counted against its room).
    var incoming: [Int32] = []
    var offerTemplates: [Offer] = []
    /// When each lender joined (ns), for the capacity of the window.
    var lenderJoined: [UInt64] = []
    /// Whether each lender's owner is using the machine now (only idle-only lenders' ever are).
    var ownerBusy: [Bool] = []
    /// What each lender's offer says of its machine (`spec/0011-records.md` §2.2).
    var busySignals: [BusySignal] = []
    /// The jobs running on each lender (slot), paused ones included.
    var runningOn: [[UInt32]] = []
    /// When each lender's guests and owner were last accounted (`accountBesideOwner`).
    var besideOwnerSince: [UInt64] = []
    var runningJobs = 0

    // Jobs.
    var jobs: [Job] = []
    /// Pending jobs, matched oldest first (job numbers are in submission order).
    var pool: [UInt32] = []
    var poolNeedsSort = false
    /// The replicas of each job run on several lenders, by the group's first job (§2.6).
    var groups: [UInt32: [UInt32]] = [:]
    /// The lenders (slots) each peer's current identity no longer sends jobs to: those whose
    /// replica lost a comparison.
    var avoided: [Set<Int32>]
    /// Per peer: its circle of friends (`[lending.friends]`, §2.8), peers in no circle excepted.
    var circleOf: [Int32]
    var circles: [[UInt32]] = []
    /// Per peer: the lenders (slots) that refused its current identity `not-idle`, and until
    /// when (ns) it sends them nothing (`owner_back_memory_s`, `spec/0017` §3.4).
    var ownerBackUntil: [[Int32: UInt64]]

    // Trust.
    var graph = WorkGraph()
    var snapshot: WorkSnapshot
    /// Trust ticks so far: a ledger's snapshot is made again at most once a tick.
    var trustTicks = 0
    /// Under `trust.view = "node"`: every receipt, each identity's receipts in the order they
    /// ended (the attackers' fakes apart), and what each peer's node holds.
    var receiptLog: [SimulatedReceipt] = []
    var receiptsOf: [UInt64: [Int32]] = [:]
    var pinnedReceipts: [UInt64: [Int32]] = [:]
    var ledgers: [PeerLedger]
    var scoreCache: [ScoreKey: Double] = [:]
    let flowConfiguration: FlowConfiguration

    // Time bookkeeping, in nanoseconds.
    let measureStart: UInt64
    let measureEnd: UInt64
    let end: UInt64
    var sampleWaits: [[Double]] = Array(repeating: [], count: PeerClass.allCases.count)

    /// A simulation of `scenario`, which must have a `[lending]` table.
    public init(scenario: Scenario) {
        precondition(scenario.lending != nil, "a lending simulation needs a [lending] table")
        self.scenario = scenario
        let lending = scenario.lending ?? Scenario.Lending()
        self.lending = lending
        let n = scenario.platform.nodes
        var random = SimulationRandom(seed: scenario.seed)
        let placement = HostPlacement(model: scenario.platform.latency, count: n, king: scenario.platform.king, random: &random)
        self.placement = placement
        let deployment = scenario.deployment
        measureStart = Self.nanoseconds(deployment.warmup)
        measureEnd = Self.nanoseconds(deployment.warmup + deployment.duration)
        end = Self.nanoseconds(deployment.warmup + deployment.duration + deployment.drain)
        peerClass = []
        peerClass.reserveCapacity(n)
        for _ in 0..<n { peerClass.append(PeerClass.draw(random.unit(), lending)) }
        self.random = random
        joined = peerClass.map { $0 != .newcomer }
        identityBorn = Array(repeating: 0, count: n)
        generation = Array(repeating: 0, count: n)
        coordinates = (0..<n).map { VivaldiCoordinate(components: placement.roundTripCoordinate(of: $0)) ?? VivaldiCoordinate() }
        known = Array(repeating: [], count: n)
        avoided = Array(repeating: [], count: n)
        ownerBackUntil = Array(repeating: [:], count: n)
        circleOf = Array(repeating: -1, count: n)
        ledgers = Array(repeating: PeerLedger(), count: lending.view == .node ? n : 0)
        lenderSlot = Array(repeating: -1, count: n)
        metrics = LendingMetrics()
        snapshot = WorkGraph().snapshot(now: 0)
        flowConfiguration = FlowConfiguration(maxPathLength: lending.maxPathLength, unit: lending.trustUnit)
        for peer in 0..<n { metrics.classes[Int(peerClass[peer].rawValue)].peers += 1 }
        drawCircles()
        setUpLenders()
        scheduleStart()
    }

    static func nanoseconds(_ seconds: Double) -> UInt64 { UInt64(max(0, seconds) * 1e9) }

    /// A desk's time, exactly, in the run's nanoseconds.
    static func nanoseconds(_ time: Duration) -> UInt64 {
        UInt64(time.components.seconds) * 1_000_000_000 + UInt64(time.components.attoseconds / 1_000_000_000)
    }

    /// Runs to the end of the drain and returns the report.
    public func run() -> LendingReport {
        let progressStep = max(1, end / 100)
        var nextProgress = progressStep
        while let event = queue.next() {
            guard event.time <= end else { break }
            now = event.time
            eventsProcessed += 1
            handle(event)
            if now >= nextProgress, let progress = hooks.progress {
                progress(Double(now) / Double(max(end, 1)))
                nextProgress = now + progressStep
            }
        }
        now = end
        finishMetrics()
        return report()
    }

    private func handle(_ event: Event<LendingEventKind>) {
        switch event.kind {
        case .arrival: arrival(of: event.subject)
        case .matchTick: matchTick()
        case .deliver: deliver(job: event.subject)
        case .finish: finish(job: event.subject)
        case .lineTimeout: lineTimeout(job: event.subject, slot: event.payload)
        case .result: result(job: event.subject)
        case .trustTick: trustTick()
        case .sample: takeSample()
        case .join: join(event.subject)
        case .whitewash: whitewash(event.subject)
        case .ownerTurn: ownerTurn(slot: Int(event.subject))
        case .busySignal: observeOwner(slot: Int(event.subject))
        case .giveBack: giveBack(job: event.subject)
        }
    }

    /// Friend circles (§2.8): the peers in a seeded random order, the first `friends.share` of
    /// them cut into circles of `friends.circle` (the last may be smaller; one left alone is in
    /// none). No draw without circles, so other runs keep their traces.
    private func drawCircles() {
        let size = lending.friendCircle
        guard size > 1 else { return }
        var order = Array(0..<UInt32(peerClass.count))
        for index in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(index, random.below(index + 1)) }
        let circled = Int((lending.friendShare * Double(order.count)).rounded())
        for start in stride(from: 0, to: circled, by: size) {
            let members = Array(order[start..<min(start + size, circled)])
            guard members.count > 1 else { break }
            for member in members { circleOf[Int(member)] = Int32(circles.count) }
            circles.append(members)
        }
    }

    /// Whether `borrower`'s identity `generation` is a friend of the lender at `slot`: its
    /// first identity, in the lender's circle (a fresh identity is on nobody's list).
    func isFriend(_ borrower: UInt32, _ generation: UInt32, of slot: Int) -> Bool {
        generation == 0 && circleOf[Int(borrower)] >= 0 && circleOf[Int(borrower)] == circleOf[Int(lenderPeer[slot])]
    }

    /// Lender slots, their lines, policies and offers, for every peer of a lending class.
    private func setUpLenders() {
        for peer in peerClass.indices where peerClass[peer].lends {
            // A lender denies itself: its own jobs are not lending (they would run at home). A
            // sybil region's lender may serve its own identities, rarely (one lender among many).
            let own = key(UInt32(peer), 0)
            // Availability draws only where the scenario asks for them, so other runs keep their traces.
            let windows = lending.windowedLenders > 0 && random.unit() < lending.windowedLenders ? [lending.lenderWindow] : []
            let idleOnly = lending.idleOnlyLenders > 0 && random.unit() < lending.idleOnlyLenders
            let friends = circleOf[peer] < 0 ? [] : Set(circles[Int(circleOf[peer])].filter { $0 != UInt32(peer) }.map { key($0, 0) })
            let policy = LenderPolicy(cores: lending.lenderCores, memoryBytes: Int64.max / 2, runtimes: [Self.runtime],
                                      windows: windows, idleOnly: idleOnly, denied: [own], friends: friends,
                                      maxJobs: lending.lenderCores / lending.jobCores, maxWallSeconds: .greatestFiniteMagnitude)
            lenderSlot[peer] = Int32(lenderPeer.count)
            lenderPeer.append(UInt32(peer))
            desks.append(LenderDesk(policy: policy, maxQueueWait: .nanoseconds(Self.nanoseconds(lending.maxLineWait))))
            incoming.append(0)
            lenderJoined.append(peerClass[peer] == .newcomer ? .max : 0)
            ownerBusy.append(false)
            busySignals.append(BusySignal())
            runningOn.append([])
            besideOwnerSince.append(0)
            if idleOnly { scheduleOwnerTurn(slot: lenderPeer.count - 1, busy: random.unit() < lending.ownerBusyShare) }
            offerTemplates.append(Offer(
                lender: own, cores: lending.lenderCores, memoryBytes: Int64.max / 2, runtimes: [Self.runtime],
                windows: windows, idleOnly: idleOnly, policy: OfferPolicy(denied: [own]), endpoint: "sim://\(peer)",
                coordinates: coordinates[peer].components, expiry: Int64.max))
        }
    }

    /// First arrivals, newcomers' joins, whitewashers' first new identities, the periodic ticks.
    private func scheduleStart() {
        for peer in peerClass.indices {
            switch peerClass[peer] {
            case .newcomer:
                let at = Double(measureStart) + random.unit() * Double(measureEnd - measureStart)
                queue.schedule(.join, at: UInt64(at), subject: UInt32(peer))
            case .sybil:
                // The region's fake receipts: each identity "gave" its lender `sybil_fake_work_s`.
                for identity in 1...lending.sybilIdentities {
                    record(provider: (UInt32(peer), UInt32(identity)), consumer: (UInt32(peer), 0),
                           coreSeconds: lending.sybilFakeWork, pinned: true)
                }
                scheduleArrival(of: UInt32(peer))
            case .whitewasher:
                scheduleArrival(of: UInt32(peer))
                let first = random.unit() * lending.whitewashInterval
                queue.schedule(.whitewash, at: Self.nanoseconds(first), subject: UInt32(peer))
            default:
                scheduleArrival(of: UInt32(peer))
            }
        }
        recordCollectiveReceipts()
        queue.schedule(.matchTick, at: Self.nanoseconds(lending.matchInterval))
        queue.schedule(.trustTick, at: Self.nanoseconds(lending.trustInterval))
        queue.schedule(.sample, at: measureStart + Self.nanoseconds(scenario.deployment.sampleInterval))
    }

    /// The attackers' fake receipts (`spec/0018` §2.5): each spy (EigenTrust's model D)
    /// records `spy_vouch_work_s` as received from every malicious peer; then each member of a
    /// malicious collective (model B) records `malicious_collective_work_s` as received from the
    /// next member in peer order, the last from the first. What they buy is flow trust's
    /// business: the spies' real work carries theirs on; the ring alone carries nothing.
    private func recordCollectiveReceipts() {
        let members = peerClass.indices.filter { peerClass[$0] == .malicious }
        if lending.spyVouchWork > 0 {
            for spy in peerClass.indices where peerClass[spy] == .spy {
                for member in members {
                    record(provider: (UInt32(member), 0), consumer: (UInt32(spy), 0), coreSeconds: lending.spyVouchWork, pinned: true)
                }
            }
        }
        guard lending.maliciousCollectiveWork > 0, members.count > 1 else { return }
        for (index, member) in members.enumerated() {
            let next = members[(index + 1) % members.count]
            record(provider: (UInt32(next), 0), consumer: (UInt32(member), 0), coreSeconds: lending.maliciousCollectiveWork, pinned: true)
        }
    }

    /// The next job of `peer`: an exponential gap of mean 3600 / `jobs_per_hour` seconds (a
    /// sybil region that borrows per identity, `sybil_identities` times as often).
    func scheduleArrival(of peer: UInt32) {
        guard lending.jobsPerHour > 0 else { return }
        let greedy = peerClass[Int(peer)] == .sybil && lending.sybilBorrowsPerIdentity
        let at = now + exponential(mean: 3600 / (lending.jobsPerHour * Double(greedy ? lending.sybilIdentities : 1)))
        if at < measureEnd { queue.schedule(.arrival, at: at, subject: peer) }
    }

    /// An exponential draw of mean `mean` seconds, in nanoseconds: `−mean · ln(1 − u)`.
    func exponential(mean: Double) -> UInt64 { Self.nanoseconds(-mean * log1p(-random.unit())) }

    private func join(_ peer: UInt32) {
        joined[Int(peer)] = true
        identityBorn[Int(peer)] = now
        let slot = lenderSlot[Int(peer)]
        if slot >= 0 { lenderJoined[Int(slot)] = now }
        scheduleArrival(of: peer)
    }

    /// A whitewasher drops its identity: a fresh key with no history, and no lender it knows.
    private func whitewash(_ peer: UInt32) {
        generation[Int(peer)] &+= 1
        identityBorn[Int(peer)] = now
        known[Int(peer)] = []
        avoided[Int(peer)] = []
        ownerBackUntil[Int(peer)] = [:]
        metrics.whitewashes += 1
        let next = now + Self.nanoseconds(lending.whitewashInterval)
        if next < end { queue.schedule(.whitewash, at: next, subject: peer) }
    }

    /// The key of `peer`'s identity number `generation`: 32 deterministic bytes (SplitMix64 of
    /// both). Nothing is signed: the economy counts work with `WorkGraph.addWork` (``record``).
    func key(_ peer: UInt32, _ generation: UInt32) -> PublicKey {
        var state = UInt64(peer) << 32 | UInt64(generation) ^ 0x504F_544C_5543_4B21
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for _ in 0..<4 {
            var word = SimulationRandom.splitMix64(&state)
            for _ in 0..<8 {
                bytes.append(UInt8(truncatingIfNeeded: word))
                word >>= 8
            }
        }
        guard let raw = Bytes32(bytes) else { preconditionFailure("32 bytes make a key") }
        return PublicKey(raw: raw)
    }
}

/// The classes of peers (`[lending.classes]`).
public enum PeerClass: UInt8, Sendable, CaseIterable {
    case contributor = 0, freeRider, newcomer, whitewasher, sybil, malicious, spy

    /// The JSON and CSV name of the class.
    public var name: String {
        switch self {
        case .contributor: "contributors"
        case .freeRider: "free_riders"
        case .newcomer: "newcomers"
        case .whitewasher: "whitewashers"
        case .sybil: "sybils"
        case .malicious: "malicious"
        case .spy: "spies"
        }
    }

    /// Every class lends but free riders and whitewashers.
    var lends: Bool { self != .freeRider && self != .whitewasher }

    /// Whether the class is on the attackers' side (its results and losses are not the honest
    /// peers' `bad_result_rate`).
    var attacks: Bool { self == .malicious || self == .spy }

    /// The class of a peer whose draw is `u`: free riders, newcomers, whitewashers, sybils,
    /// malicious peers, spies, contributors by cumulative fraction.
    static func draw(_ u: Double, _ lending: Scenario.Lending) -> PeerClass {
        var bound = lending.freeRiders
        if u < bound { return .freeRider }
        bound += lending.newcomers
        if u < bound { return .newcomer }
        bound += lending.whitewashers
        if u < bound { return .whitewasher }
        bound += lending.sybils
        if u < bound { return .sybil }
        bound += lending.malicious
        if u < bound { return .malicious }
        bound += lending.spies
        if u < bound { return .spy }
        return .contributor
    }
}
