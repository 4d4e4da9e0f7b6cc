/// `GET /v1/lending`, and the answer to `PUT /v1/lending/paused`: what this machine lends.
public struct LendingState: Codable, Sendable, Equatable {
    /// The owner paused lending: the offer is withdrawn and new jobs are refused until resumed.
    public var paused: Bool
    /// The recorded policy (`DIR/config.toml`), `nil` when none was set.
    public var policy: Policy?
    /// Whether the DHT holds this node's offer now (it published one and did not withdraw it).
    public var published: Bool

    public struct Policy: Codable, Sendable, Equatable {
        public var cores: Int
        public var memory: String
        public var runtimes: [String]
        public var tools: [String]
        public var windows: [String]
        public var idleOnly: Bool
        public var maxJobs: Int
        public var friends: Int
        public var denied: Int

        public init(cores: Int, memory: String, runtimes: [String], tools: [String], windows: [String], idleOnly: Bool, maxJobs: Int,
                    friends: Int, denied: Int) {
            self.cores = cores
            self.memory = memory
            self.runtimes = runtimes
            self.tools = tools
            self.windows = windows
            self.idleOnly = idleOnly
            self.maxJobs = maxJobs
            self.friends = friends
            self.denied = denied
        }
    }

    public init(paused: Bool, policy: Policy?, published: Bool) {
        self.paused = paused
        self.policy = policy
        self.published = published
    }
}

/// `PUT /v1/lending/paused`.
public struct PauseRequest: Codable, Sendable, Equatable {
    public var paused: Bool
    public init(paused: Bool) { self.paused = paused }
}

/// `PUT /v1/lending/policy`: changes the recorded policy; fields left out keep their value.
public struct PolicyUpdate: Codable, Sendable, Equatable {
    public var cores: Int?
    /// A size: `512MiB`, `4GiB`.
    public var memory: String?
    public var maxJobs: Int?
    public var idleOnly: Bool?
    /// `HH:MM-HH:MM` each; empty lends at any time.
    public var windows: [String]?

    public init(cores: Int? = nil, memory: String? = nil, maxJobs: Int? = nil, idleOnly: Bool? = nil, windows: [String]? = nil) {
        self.cores = cores
        self.memory = memory
        self.maxJobs = maxJobs
        self.idleOnly = idleOnly
        self.windows = windows
    }
}

/// `GET /v1/jobs/history`: the jobs this node lent and borrowed, newest first.
public struct JobHistory: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        /// `lent` or `borrowed`.
        public var role: String
        /// The borrower's peer id for a lent job, the lender's for a borrowed one.
        public var peer: String
        public var job: String
        public var cores: Int
        /// Unix milliseconds.
        public var start: Int64
        public var end: Int64
        public var outcome: String
        public var exitCode: Int32?
        public var coreSeconds: Double
        public var receipt: String?

        public init(role: String, peer: String, job: String, cores: Int, start: Int64, end: Int64, outcome: String, exitCode: Int32?,
                    coreSeconds: Double, receipt: String?) {
            self.role = role
            self.peer = peer
            self.job = job
            self.cores = cores
            self.start = start
            self.end = end
            self.outcome = outcome
            self.exitCode = exitCode
            self.coreSeconds = coreSeconds
            self.receipt = receipt
        }
    }

    public var jobs: [Entry]
    public init(jobs: [Entry]) { self.jobs = jobs }
}

/// `GET /v1/trust`: for every peer this node holds receipts with, the work both ways and the
/// trust each side's receipts give (flow-based, spec 0012), as this node's ledger sees them.
public struct TrustSummary: Codable, Sendable, Equatable {
    public struct Peer: Codable, Sendable, Equatable {
        public var peer: String
        /// Core-seconds the peer gave this node, and this node gave it, directly.
        public var gaveMe: Double
        public var iGave: Double
        public var receipts: Int
        /// This node's trust in the peer, and the peer's in this node from the same receipts.
        public var trustGiven: Double
        public var trustReceived: Double
        /// Why, in a sentence: the flows and the peers they went through.
        public var why: String

        public init(peer: String, gaveMe: Double, iGave: Double, receipts: Int, trustGiven: Double, trustReceived: Double, why: String) {
            self.peer = peer
            self.gaveMe = gaveMe
            self.iGave = iGave
            self.receipts = receipts
            self.trustGiven = trustGiven
            self.trustReceived = trustReceived
            self.why = why
        }
    }

    public var me: String
    public var receiptsKnown: Int
    public var peers: [Peer]

    public init(me: String, receiptsKnown: Int, peers: [Peer]) {
        self.me = me
        self.receiptsKnown = receiptsKnown
        self.peers = peers
    }
}

extension APIRoute where Answer == LendingState {
    public static var lending: Self { Self(.get, APIPath.lending) }
    public static func pauseLending(_ paused: Bool) -> Self { Self(.put, APIPath.lendingPaused, body: PauseRequest(paused: paused)) }
    public static func updatePolicy(_ update: PolicyUpdate) -> Self { Self(.put, APIPath.lendingPolicy, body: update) }
}

extension APIRoute where Answer == JobHistory {
    public static var jobHistory: Self { Self(.get, APIPath.jobHistory) }
}

extension APIRoute where Answer == TrustSummary {
    public static var trust: Self { Self(.get, APIPath.trust) }
}

/// One `snapshot` event of `GET /v1/events` (server-sent events, every 2 s).
public struct NodeSnapshot: Codable, Sendable, Equatable {
    public var node: NodeInfo
    public var dht: DHTStatus
    public var running: RunningJobs
    public var lending: LendingState

    public init(node: NodeInfo, dht: DHTStatus, running: RunningJobs, lending: LendingState) {
        self.node = node
        self.dht = dht
        self.running = running
        self.lending = lending
    }
}
