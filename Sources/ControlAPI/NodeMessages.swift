/// `GET /v1/node`: who this node is and how others reach it (`spec/0008-control-api.md` §3).
public struct NodeInfo: Codable, Sendable, Equatable {
    public var peerID: String
    public var nodeID: String
    /// The DHT's bound addresses.
    public var listen: [String]
    /// `tcp://HOST:PORT` when the node serves the job channel (spec 0017 §1).
    public var jobs: String?
    /// The job endpoint borrowers are told, once a mapped or public one is known (spec 0021 §4).
    public var jobsAdvertised: String?
    public var reachability: ReachabilityInfo?
    /// One entry per `--bootstrap` host.
    public var bootstrap: [BootstrapStatus]?
    public var jobChannel: JobChannelCounters?
    /// The dashboard's and the API's localhost address, `http://127.0.0.1:PORT`, when served.
    public var http: String?

    public init(peerID: String, nodeID: String, listen: [String]) {
        self.peerID = peerID
        self.nodeID = nodeID
        self.listen = listen
    }
}

/// How others reach this node (spec 0021), in plain words and in fields.
public struct ReachabilityInfo: Codable, Sendable, Equatable {
    /// One sentence: "reachable at 203.0.113.7:6881", "behind a symmetric NAT: lending through relays".
    public var summary: String
    public var reachable: Bool
    /// Joined the DHT read-only (BEP 43).
    public var readOnly: Bool
    /// `none`, `mapped`, `udp-blocked`, or the NAT's mapping behaviour.
    public var nat: String
    public var dht: String?
    public var jobs: String?
    public var mappedBy: String?
    public var publicAddress: String?
    public var portMappingProblem: String?
    public var relays: [String]?
    /// The relay (`HOST:PORT`) whose tunnel carries the DHT's datagrams while UDP is blocked.
    public var tunnel: String?

    public init(summary: String, reachable: Bool, readOnly: Bool, nat: String) {
        self.summary = summary
        self.reachable = reachable
        self.readOnly = readOnly
        self.nat = nat
    }
}

/// The last outcome of joining through one `--bootstrap` host (spec 0008 §1.2).
public struct BootstrapStatus: Codable, Sendable, Equatable {
    public var host: String
    public var endpoints: [String]
    public var attempts: Int
    /// `joined`, or `not joined: <why>`.
    public var state: String

    public init(host: String, endpoints: [String], attempts: Int, state: String) {
        self.host = host
        self.endpoints = endpoints
        self.attempts = attempts
        self.state = state
    }
}

/// What the job channel's limits did (spec 0015 §3.1): a lender sees an attack here.
public struct JobChannelCounters: Codable, Sendable, Equatable {
    public var open: Int
    public var established: Int
    public var failedHandshakes: Int
    public var refused: Int
    public var evicted: Int

    public init(open: Int, established: Int, failedHandshakes: Int, refused: Int, evicted: Int) {
        self.open = open
        self.established = established
        self.failedHandshakes = failedHandshakes
        self.refused = refused
        self.evicted = evicted
    }
}

/// `GET /v1/jobs/running`: the jobs running on this machine now (spec 0017).
public struct RunningJobs: Codable, Sendable, Equatable {
    public struct Job: Codable, Sendable, Equatable {
        public var borrower: String
        /// The job's digest, hex.
        public var job: String
        public var cores: Int
        /// Unix seconds.
        public var started: Double

        public init(borrower: String, job: String, cores: Int, started: Double) {
            self.borrower = borrower
            self.job = job
            self.cores = cores
            self.started = started
        }
    }

    public var running: [Job]

    public init(running: [Job]) { self.running = running }
}
