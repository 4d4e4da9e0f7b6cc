/// `PUT /v1/offer`: publishes this node's signed-by-the-DHT offer (spec 0011 §2).
public struct OfferPublishRequest: Codable, Sendable, Equatable {
    /// Hex of the encoded offer; the node adds its Vivaldi coordinate and reachable endpoint.
    public var offer: String
    public init(offer: String) { self.offer = offer }
}

public struct OfferPublishResult: Codable, Sendable, Equatable {
    public var target: String
    public var seq: Int64
    /// How many nodes took the announcement under each runtime's topic, summed.
    public var announcedOn: Int

    public init(target: String, seq: Int64, announcedOn: Int) {
        self.target = target
        self.seq = seq
        self.announcedOn = announcedOn
    }
}

/// `DELETE /v1/offer`.
public struct OfferWithdrawResult: Codable, Sendable, Equatable {
    public var target: String
    public var seq: Int64
    public init(target: String, seq: Int64) {
        self.target = target
        self.seq = seq
    }
}

/// `GET /v1/offers?runtime=R&cores=N`: the offers found under one runtime's topic.
public struct OfferList: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public var lender: String
        public var cores: Int
        public var memoryBytes: Int64
        public var runtimes: [String]
        /// Lent tool name → version.
        public var tools: [String: String]
        public var windows: [String]
        public var idleOnly: Bool
        /// For an idle-only lender whose machine is busy: since when, Unix seconds
        /// (`spec/0011-records.md` §2.2); borrowers skip it.
        public var busySince: Int64?
        public var endpoint: String
        /// Unix seconds.
        public var expiry: Int64
        public var seq: Int64
        /// Hex of the signed offer value, for the borrower's own matching.
        public var offer: String
        /// The Vivaldi estimate of the round trip to the lender.
        public var estimatedRttMs: Double?

        public init(lender: String, cores: Int, memoryBytes: Int64, runtimes: [String], tools: [String: String], windows: [String],
                    idleOnly: Bool, busySince: Int64? = nil, endpoint: String, expiry: Int64, seq: Int64, offer: String, estimatedRttMs: Double?) {
            self.lender = lender
            self.cores = cores
            self.memoryBytes = memoryBytes
            self.runtimes = runtimes
            self.tools = tools
            self.windows = windows
            self.idleOnly = idleOnly
            self.busySince = busySince
            self.endpoint = endpoint
            self.expiry = expiry
            self.seq = seq
            self.offer = offer
            self.estimatedRttMs = estimatedRttMs
        }
    }

    public var runtime: String
    public var offers: [Entry]

    public init(runtime: String, offers: [Entry]) {
        self.runtime = runtime
        self.offers = offers
    }
}

/// `POST /v1/receipts/publish`: this node's complete receipts and their index, on the DHT.
public struct ReceiptsPublishResult: Codable, Sendable, Equatable {
    public var published: Int
    /// The index item's target.
    public var index: String
    public init(published: Int, index: String) {
        self.published = published
        self.index = index
    }
}

/// `POST /v1/receipts/sync`: fetches a peer's published receipts into this node's ledger.
public struct ReceiptsSyncRequest: Codable, Sendable, Equatable {
    /// A peer id or 64 hex digits.
    public var peer: String
    public init(peer: String) { self.peer = peer }
}

public struct ReceiptsSyncResult: Codable, Sendable, Equatable {
    public var listed: Int
    public var fetched: Int
    public var added: Int
    public init(listed: Int, fetched: Int, added: Int) {
        self.listed = listed
        self.fetched = fetched
        self.added = added
    }
}

/// `POST /v1/batches`: a job file for the node to run detached (spec 0019 §7).
public struct BatchSubmitRequest: Codable, Sendable, Equatable {
    /// The job file's path on this machine.
    public var path: String
    /// How many lenders run each task (`--replicas`, 1 to 16; 1 when absent).
    public var replicas: Int?
    public init(path: String, replicas: Int? = nil) {
        self.path = path
        self.replicas = replicas
    }
}

/// `GET /v1/batches`: every detached job, oldest first, without their logs.
public struct BatchList: Codable, Sendable, Equatable {
    public var jobs: [BatchRecord]
    public init(jobs: [BatchRecord]) { self.jobs = jobs }
}
