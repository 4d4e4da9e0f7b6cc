// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Kademlia

/// A simulation to run: the *platform* (the hosts and the network they sit on) apart from the
/// *deployment* (what runs on them and the workload), a seed, and the figures expected of it.
/// Read from a TOML file by ``Scenario/init(toml:directory:)``; the format is normative in
/// `spec/0010-simulator.md` §5.
public struct Scenario: Sendable {
    public var name: String
    public var description: String
    /// The seed of the run's ``SimulationRandom``: one seed, one run, bit for bit.
    public var seed: UInt64
    public var platform: Platform
    public var deployment: Deployment
    /// Figures the run must reproduce; a run outside them fails.
    public var expected: [Expectation]
    /// The number of nodes the expected figures hold for (`[expected] nodes`, by default the
    /// file's `platform.nodes`); at another size they are shown for comparison, not checked.
    /// `nil`: any size.
    public var expectedNodes: Int?
    /// Whether the expected figures are checked at this run's size.
    public var expectationsApply: Bool { expectedNodes.map { $0 == platform.nodes } ?? true }
    /// The codec switch (`codec`, default true): whether datagrams go through the real KRPC
    /// encoder and decoder. Off, hosts exchange message values (faster; same results, and
    /// `bytes_sent` and the trace hash's byte counts are then 0).
    public var codec: Bool
    /// The lending economy (`[lending]`, `spec/0018-lending-simulation.md`); nil for a DHT-only run.
    public var lending: Lending?

    public init(name: String, description: String = "", seed: UInt64, platform: Platform, deployment: Deployment,
                expected: [Expectation] = [], codec: Bool = true) {
        self.codec = codec
        self.name = name
        self.description = description
        self.seed = seed
        self.platform = platform
        self.deployment = deployment
        self.expected = expected
    }

    /// The hosts and the network (`[platform]`).
    public struct Platform: Sendable {
        /// How many peers (hosts) the run simulates.
        public var nodes: Int
        public var latency: LatencyModel
        /// The King coordinates, loaded when `latency` is `.king`.
        public var king: KingCoordinates?
        /// Added to each datagram's latency: uniform in [0, jitter) milliseconds.
        public var jitterMilliseconds: Double
        /// The probability that a datagram is lost.
        public var loss: Double
        /// Session and downtime distributions; nil for a network without churn.
        public var churn: Churn?
        /// Hosts behind NATs that drop unsolicited datagrams.
        public var nat: NAT

        public init(nodes: Int, latency: LatencyModel = .constant(milliseconds: 50), king: KingCoordinates? = nil,
                    jitterMilliseconds: Double = 0, loss: Double = 0, churn: Churn? = nil, nat: NAT = NAT()) {
            self.nodes = nodes
            self.latency = latency
            self.king = king
            self.jitterMilliseconds = jitterMilliseconds
            self.loss = loss
            self.churn = churn
            self.nat = nat
        }
    }

    /// Churn: each host but the first (the well-known bootstrap node, which never leaves)
    /// alternates online sessions and offline downtimes drawn from these distributions.
    public struct Churn: Sendable, Hashable {
        public var session: Distribution
        public var downtime: Distribution

        public init(session: Distribution, downtime: Distribution) {
            self.session = session
            self.downtime = downtime
        }
    }

    /// Unreachable hosts: a `fraction` of hosts (never the first) sit behind NATs or firewalls
    /// and drop every query they did not ask for; they can only send queries and receive replies.
    public struct NAT: Sendable, Hashable {
        public var fraction: Double
        /// Whether those hosts know it and run as BEP 43 read-only nodes (`ro=1`), so that
        /// others keep them out of their routing tables.
        public var readOnly: Bool

        public init(fraction: Double = 0, readOnly: Bool = true) {
            self.fraction = fraction
            self.readOnly = readOnly
        }
    }

    /// What runs on the hosts (`[deployment]`). Times in seconds of virtual time.
    public struct Deployment: Sendable, Hashable {
        /// Host i joins at `i · joinOver / nodes` (host 0, the bootstrap node, at 0).
        public var joinOver: Double
        /// Time after the last join before measurement starts.
        public var warmup: Double
        /// How long the workload runs and is measured.
        public var duration: Double
        /// Time after the workload stops for operations in flight to finish.
        public var drain: Double
        /// Workload rates over the whole network (Poisson arrivals, each on a random online host).
        public var lookupsPerSecond: Double
        public var putsPerSecond: Double
        public var getsPerSecond: Double
        /// The period of the time series.
        public var sampleInterval: Double
        /// Contacts a joining host bootstraps through: host 0, plus this many minus one random
        /// online hosts.
        public var bootstrapContacts: Int
        /// Lookup parallelism α and result size k (also the bucket size).
        public var alpha: Int
        public var k: Int
        /// The lookup's short timeout and whether slow peers hold up its end
        /// (`[deployment.dht]` `short_timeout_ms`, `slow_holds_termination`); `nil`: the node's
        /// own defaults (`Lookup.Configuration`).
        public var shortTimeout: Duration?
        public var slowHoldsTermination: Bool?
        /// `adaptive_timeout_floor_ms`: `.zero` for a fixed short timeout; `nil`: the node's default.
        public var adaptiveShortTimeoutFloor: Duration?
        /// `resend_slow`: whether a lookup resends to slow peers among the k closest; `nil`: the
        /// node's default.
        public var resendsToSlowPeers: Bool?
        /// `converged_burst`: whether a converged lookup asks the rest of its k closest at once
        /// (``Lookup/Configuration/burstsWhenConverged``); `nil`: the node's default.
        public var burstsWhenConverged: Bool?
        /// `overtaken_free_slots`: whether a query to a peer no longer among the k closest stops
        /// counting against α (``Lookup/Configuration/overtakenFreeSlots``); `nil`: the node's default.
        public var overtakenFreeSlots: Bool?
        /// `liveness_check_s`: how often a node pings its quietest routing-table member, `.zero`
        /// for never; `nil`: the node's default.
        public var livenessCheckInterval: Duration?
        /// `timeout_deviations`: the deviations a lookup's slow mark adds to the smoothed round
        /// trip (``Lookup/Configuration/timeoutDeviations``); `nil`: the node's default.
        public var timeoutDeviations: Double?
        /// `expected_rtt_factor`: a peer with a known coordinate turns slow after this many
        /// expected round trips (``Lookup/Configuration/expectedRoundTripFactor``), 0 for never;
        /// `nil`: the node's default.
        public var expectedRoundTripFactor: Double?
        /// `expected_rtt_margin_ms`: the margin added to them; `nil`: the node's default.
        public var expectedRoundTripMargin: Duration?
        /// `vivaldi_filter`: whether Vivaldi's per-contact filter runs (about 8 KB a node);
        /// `nil`: the node's default (on).
        public var vivaldiFiltersContacts: Bool?
        /// `dial_back`: whether a querier enters the table only after answering a ping from
        /// another port (spec 0021 §4.1); `nil`: the node's default (on).
        public var dialBack: Bool?
        /// `refresh_after_join`: whether a node refreshes its buckets with room left once it has
        /// bootstrapped (`spec/0004` §5.4); `nil`: the node's default (on).
        public var refreshesAfterJoin: Bool?
        /// `refresh_alpha`: the queries a refresh lookup keeps in flight
        /// (``DHTNode/Configuration/refreshQueriesInFlight``); `nil`: the node's default (2).
        public var refreshAlpha: Int?
        /// `rejoin_from_saved_table`: whether a host that comes back bootstraps from the routing
        /// table it had when it left, as a restarted node does from the contacts it saved
        /// (default); off, it joins afresh through host 0 like a new node.
        public var rejoinsFromSavedTable = true
        /// Periodic lookups (`lookup_interval_s`, 0 = none): every host, once bootstrapped,
        /// looks up ``lookupTarget`` every this many seconds until the workload stops, in
        /// addition to the Poisson lookups of ``lookupsPerSecond`` (SimGrid's Kademlia example).
        public var lookupInterval: Double
        /// What periodic lookups look for.
        public var lookupTarget: LookupTarget

        public init(joinOver: Double = 60, warmup: Double = 60, duration: Double = 300, drain: Double = 30,
                    lookupsPerSecond: Double = 1, putsPerSecond: Double = 0, getsPerSecond: Double = 0,
                    sampleInterval: Double = 30, bootstrapContacts: Int = 1, alpha: Int = Lookup.Configuration().alpha, k: Int = 8,
                    lookupInterval: Double = 0, lookupTarget: LookupTarget = .random) {
            self.lookupInterval = lookupInterval
            self.lookupTarget = lookupTarget
            self.joinOver = joinOver
            self.warmup = warmup
            self.duration = duration
            self.drain = drain
            self.lookupsPerSecond = lookupsPerSecond
            self.putsPerSecond = putsPerSecond
            self.getsPerSecond = getsPerSecond
            self.sampleInterval = sampleInterval
            self.bootstrapContacts = bootstrapContacts
            self.alpha = alpha
            self.k = k
        }

        /// The target of a periodic lookup (`lookup_target`).
        public enum LookupTarget: String, Sendable, Hashable {
            /// A uniformly random id, drawn per lookup.
            case random
            /// Host 0's id: a fixed target that is a live node (SimGrid's example looks up id 0,
            /// its node 0).
            case host0 = "host-0"
        }

        /// When measurement starts and when the workload stops, in seconds.
        public var measureStart: Double { joinOver + warmup }
        public var measureEnd: Double { joinOver + warmup + duration }
    }

    /// One expected figure: a metric of ``SimulationReport`` (by its JSON name) and its bounds.
    public struct Expectation: Sendable, Hashable {
        public var metric: String
        public var min: Double?
        public var max: Double?

        public init(metric: String, min: Double? = nil, max: Double? = nil) {
            self.metric = metric
            self.min = min
            self.max = max
        }

        public func holds(for value: Double) -> Bool {
            (min.map { value >= $0 } ?? true) && (max.map { value <= $0 } ?? true)
        }

        public var bounds: String {
            switch (min, max) {
            case let (low?, high?): "[\(low), \(high)]"
            case let (low?, nil): "≥ \(low)"
            case let (nil, high?): "≤ \(high)"
            default: "any"
            }
        }
    }
}
