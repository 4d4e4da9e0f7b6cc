// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Kademlia

/// A discrete-event simulation of a Potluck DHT: each host is the very ``DHTNode`` that
/// `potluck node` runs, fed with virtual time, its datagrams (real KRPC bytes from the real
/// codec) carried by a modelled network (`spec/0010-simulator.md`).
///
/// One ``SimulationRandom`` seeded from the scenario makes every choice, and events are ordered
/// by (time, sequence), so a seed reproduces a run bit for bit; ``trace`` fingerprints it.
///
/// Per-host state is kept as parallel flat arrays (struct of arrays): the node itself (a shared
/// empty node while offline), its id, one wake-up time and a byte of flags, plus the placement
/// coordinates.
public final class Simulation {
    public let scenario: Scenario
    public var hooks = SimulationHooks()

    /// The current virtual time, in nanoseconds.
    public internal(set) var now: UInt64 = 0
    public internal(set) var metrics = Metrics()
    public internal(set) var trace = TraceHash()
    public internal(set) var series: [Sample] = []
    public internal(set) var eventsProcessed: UInt64 = 0
    /// The most events pending at once.
    public internal(set) var peakPendingEvents = 0

    var random: SimulationRandom
    var queue = EventQueue<EventKind>()
    let placement: HostPlacement
    let index: ClosestIndex
    let nodeConfiguration: DHTNode.Configuration
    let readOnlyConfiguration: DHTNode.Configuration

    // Hosts, struct of arrays.
    var ids: [NodeID]
    /// Each host's node; ``offlineNode`` while it is offline. Not optional: reaching into an
    /// optional element takes the 1.2 KB node out of the array and puts it back (two copies
    /// per event), where a plain element is used in place.
    var nodes: [DHTNode]
    /// The stand-in for offline hosts: one empty node, shared (copies of it allocate nothing).
    let offlineNode: DHTNode
    var scheduledWake: [UInt64]
    var flags: [HostFlags]
    /// When each host last joined (virtual nanoseconds).
    var joinedAt: [UInt64]
    var onlineList: [UInt32] = []
    var onlinePosition: [UInt32]
    /// When each host's next periodic lookup is due (empty without periodic lookups).
    var periodicLookupDue: [UInt64]
    /// The routing-table members an offline host saved when it left, as hosts (empty when none,
    /// or with ``Scenario/Deployment/rejoinsFromSavedTable`` off): it bootstraps from them when it
    /// comes back, as a restarted node does.
    var savedTables: [[UInt32]]

    // Datagrams in flight: a slab of byte arrays reused through a free list.
    var inFlight: [InFlight] = []
    var freeSlots: [UInt32] = []
    /// The actions of the message being delivered, reused from one delivery to the next.
    var outbox: [DHTNode.Action] = []

    // Requests started by the workload, by request id.
    var requests: [RequestID: PendingRequest] = [:]
    var nextRequest: RequestID = 1
    /// Targets of items stored by puts (a ring of the latest 65,536), for gets to fetch.
    var storedTargets: [NodeID] = []
    var storedTargetsNext = 0

    // Time bookkeeping, in nanoseconds.
    let measureStart: UInt64
    let measureEnd: UInt64
    let end: UInt64
    var lastOnlineChange: UInt64 = 0
    var currentSample: Sample
    var workloadRunning = false

    struct HostFlags: OptionSet {
        let rawValue: UInt8
        static let online = HostFlags(rawValue: 1)
        static let ready = HostFlags(rawValue: 2)
        static let nat = HostFlags(rawValue: 4)
    }

    /// A datagram on its way: its bytes, or with the codec switch off its message.
    struct InFlight {
        var bytes: [UInt8]
        var message: KRPCMessage?
        var from: UInt32
    }

    enum RequestKind {
        case bootstrap
        case lookup(NodeID)
        case put(NodeID)
        case get
    }

    struct PendingRequest {
        var kind: RequestKind
        var host: UInt32
        var started: UInt64
    }

    /// Prepares a run: draws the ids, places the hosts, picks the NATed ones and schedules the
    /// joins. Nothing runs until ``run()``.
    public init(scenario: Scenario) {
        self.scenario = scenario
        let count = scenario.platform.nodes
        random = SimulationRandom(seed: scenario.seed)
        var ids: [NodeID] = []
        ids.reserveCapacity(count)
        for _ in 0..<count { ids.append(NodeID.random(using: &random)) }
        self.ids = ids
        placement = HostPlacement(model: scenario.platform.latency, count: count, king: scenario.platform.king, random: &random)
        index = ClosestIndex(ids: ids)
        offlineNode = DHTNode(id: .zero, seed: 0, now: .zero)
        nodes = Array(repeating: offlineNode, count: count)
        scheduledWake = Array(repeating: .max, count: count)
        flags = Array(repeating: [], count: count)
        joinedAt = Array(repeating: 0, count: count)
        onlinePosition = Array(repeating: .max, count: count)
        periodicLookupDue = Array(repeating: .max, count: scenario.deployment.lookupInterval > 0 ? count : 0)
        savedTables = Array(repeating: [], count: count)
        for host in 1..<count where random.chance(scenario.platform.nat.fraction) { flags[host].insert(.nat) }

        var configuration = DHTNode.Configuration()
        configuration.verifier = .acceptAll
        configuration.encodesMessages = scenario.codec
        // Addresses are virtual and one per host: no per-address limit (the limiter is off and
        // remembers nothing).
        configuration.queriesPerSecondPerAddress = .infinity
        configuration.queryBurstPerAddress = .infinity
        configuration.rateLimiterCapacity = 1
        // Vivaldi's per-contact filter (spec 0013 §3.1, §3.3), on as in a real node unless the
        // scenario turns it off: it costs about 8 KB a node, too much for a million.
        configuration.vivaldiFiltersContacts = scenario.deployment.vivaldiFiltersContacts ?? true
        configuration.routing.bucketSize = scenario.deployment.k
        configuration.lookup.alpha = scenario.deployment.alpha
        configuration.lookup.k = scenario.deployment.k
        configuration.lookup.candidateLimit = max(configuration.lookup.candidateLimit, scenario.deployment.k)
        // Replies carry k contacts (the bucket size); merge them all when k exceeds the default.
        configuration.lookup.contactsPerReply = max(configuration.lookup.contactsPerReply, scenario.deployment.k)
        if let short = scenario.deployment.shortTimeout { configuration.lookup.shortTimeout = short }
        if let holds = scenario.deployment.slowHoldsTermination { configuration.lookup.slowHoldsTermination = holds }
        if let floor = scenario.deployment.adaptiveShortTimeoutFloor {
            configuration.lookup.adaptiveShortTimeoutFloor = floor == .zero ? nil : floor
        }
        if let resends = scenario.deployment.resendsToSlowPeers { configuration.lookup.resendsToSlowPeers = resends }
        if let bursts = scenario.deployment.burstsWhenConverged { configuration.lookup.burstsWhenConverged = bursts }
        if let frees = scenario.deployment.overtakenFreeSlots { configuration.lookup.overtakenFreeSlots = frees }
        if let deviations = scenario.deployment.timeoutDeviations { configuration.lookup.timeoutDeviations = deviations }
        if let factor = scenario.deployment.expectedRoundTripFactor { configuration.lookup.expectedRoundTripFactor = factor > 0 ? factor : nil }
        if let margin = scenario.deployment.expectedRoundTripMargin { configuration.lookup.expectedRoundTripMargin = margin }
        if let dialBack = scenario.deployment.dialBack { configuration.dialBack = dialBack }
        if let refresh = scenario.deployment.refreshesAfterJoin { configuration.refreshesAfterJoin = refresh }
        if let inFlight = scenario.deployment.refreshAlpha { configuration.refreshQueriesInFlight = inFlight }
        if let interval = scenario.deployment.livenessCheckInterval {
            configuration.livenessCheckInterval = interval == .zero ? nil : interval
        }
        nodeConfiguration = configuration
        configuration.readOnly = scenario.platform.nat.readOnly
        readOnlyConfiguration = configuration

        let deployment = scenario.deployment
        measureStart = Self.nanoseconds(deployment.measureStart)
        measureEnd = Self.nanoseconds(deployment.measureEnd)
        end = measureEnd + Self.nanoseconds(deployment.drain)
        currentSample = Sample(time: 0, online: 0)

        for host in 0..<count {
            let at = Self.nanoseconds(deployment.joinOver * Double(host) / Double(count))
            queue.schedule(.join, at: at, host: UInt32(host))
        }
        queue.schedule(.sample, at: Self.nanoseconds(deployment.sampleInterval))
        queue.schedule(.stop, at: measureStart)
        queue.schedule(.stop, at: measureEnd, payload: 1)
    }

    static func nanoseconds(_ seconds: Double) -> UInt64 { UInt64((seconds * 1e9).rounded()) }

    /// The endpoint of host `host`: 10.0.0.0/8 address `10.0.0.1 + host`, port 6881.
    @inline(__always)
    static func endpoint(_ host: Int) -> Endpoint {
        Endpoint(address: .v4(0x0A00_0001 &+ UInt32(truncatingIfNeeded: host)), port: 6881)
    }

    /// The host at `endpoint`, if it is one of ours.
    @inline(__always)
    func host(at endpoint: Endpoint) -> Int? {
        guard endpoint.port == 6881, case .v4(let address) = endpoint.address, address >= 0x0A00_0001 else { return nil }
        let host = Int(address - 0x0A00_0001)
        return host < ids.count ? host : nil
    }

    @inline(__always) func isOnline(_ host: Int) -> Bool { flags[host].contains(.online) }

    /// Runs to the end of the scenario and returns its report.
    public func run() -> SimulationReport {
        let progressEvery: UInt64 = 1 << 16
        while let event = queue.next() {
            guard event.time <= end else { break }
            now = event.time
            eventsProcessed += 1
            switch event.kind {
            case .deliver: deliver(event)
            case .wake: wake(Int(event.host), at: event.time)
            case .join: event.payload == 0 ? join(Int(event.host)) : retryBootstrap(Int(event.host))
            case .leave: leave(Int(event.host))
            case .lookup: startLookup()
            case .put: startPut()
            case .get: startGet()
            case .sample: takeSample()
            case .stop: event.payload == 0 ? startWorkload() : stopWorkload()
            case .periodicLookup: startPeriodicLookup(Int(event.host), at: event.time)
            }
            if eventsProcessed % progressEvery == 0 {
                peakPendingEvents = max(peakPendingEvents, queue.count)
                hooks.progress?(Double(now) / Double(max(end, 1)))
            }
        }
        now = max(now, end)
        accountOnlineTime()
        return report()
    }
}

extension Simulation {
    /// The node settings a run used, in one line for the report: the lookup's, the routing
    /// table's upkeep, and where the simulator departs from a real node.
    static func describe(_ node: DHTNode.Configuration, rejoinsFromSavedTable: Bool) -> String {
        let lookup = node.lookup
        let text = { (duration: Duration) in
            let milliseconds = Int(duration / .milliseconds(1))
            return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
        }
        let deviations = lookup.timeoutDeviations == lookup.timeoutDeviations.rounded()
            ? String(Int(lookup.timeoutDeviations)) : String(lookup.timeoutDeviations)
        let timeout = lookup.adaptiveShortTimeoutFloor.map { "adaptive \(text($0))–\(text(lookup.shortTimeout)) (SRTT + \(deviations) deviations)" }
            ?? text(lookup.shortTimeout)
        let expected = lookup.expectedRoundTripFactor.map { "\($0) expected round trips + \(text(lookup.expectedRoundTripMargin))" } ?? "off"
        let liveness = node.livenessCheckInterval.map { "every \(text($0)) after \(text(node.livenessQuietAfter)) quiet" } ?? "off"
        let burst = lookup.burstsWhenConverged && lookup.k > lookup.alpha ? " (\(lookup.k) once converged)" : ""
        let overtaken = lookup.overtakenFreeSlots ? " among the k closest" : ""
        return "α \(lookup.alpha)\(overtaken)\(burst), k \(lookup.k), short timeout \(timeout), per-peer slow mark \(expected), slow peers "
            + (lookup.slowHoldsTermination ? "hold the end" : "passed over") + ", resend slow "
            + (lookup.resendsToSlowPeers ? "on" : "off") + ", liveness checks \(liveness), BEP 42 ids "
            + (node.routing.enforceNodeIDs ? "enforced" : "not enforced") + ", rate limit "
            + (node.queriesPerSecondPerAddress.isFinite ? "on" : "off") + ", Vivaldi filter "
            + (node.vivaldiFiltersContacts ? "on" : "off") + ", dial-backs " + (node.dialBack ? "on" : "off")
            + ", refresh after joining " + (node.refreshesAfterJoin ? "on" : "off")
            + ", refresh α \(node.refreshQueriesInFlight), rejoin from the saved table " + (rejoinsFromSavedTable ? "on" : "off")
    }
}

