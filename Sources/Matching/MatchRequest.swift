// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import Coordinates
import PotluckCrypto

/// What a borrower asks for (`spec/0016-matching.md` §1): a runtime, a share of a machine, an
/// estimate of the work, and where the borrower sits in Vivaldi space.
public struct MatchRequest: Sendable, Hashable {
    /// The borrower's ed25519 key: lenders' allow and deny lists are checked against it.
    public var borrower: PublicKey
    /// The runtime the job needs, such as `wasm32-wasi`.
    public var runtime: String
    /// Native tools the job runs (`spec/0019-native-jobs.md`); an offer must lend every one.
    public var tools: [String]
    /// Cores the job uses (at least 1); an offer must lend at least this many.
    public var cores: Int
    /// Memory the job needs, in bytes; an offer must lend at least this much.
    public var memoryBytes: Int64
    /// The borrower's estimate of the work, in core-seconds (0 when unknown).
    public var workCoreSeconds: Double
    /// The borrower's Vivaldi coordinate, if it has one.
    public var coordinate: VivaldiCoordinate?
    /// The instant of the match, Unix seconds (time windows and expiry are judged at it).
    public var now: Int64
    /// Offers farther than this round-trip time, in milliseconds, are ruled out (`tooFar`);
    /// `nil` for no limit. Only a measured or estimated latency can rule an offer out.
    public var maxLatencyMs: Double?
    /// Lenders the borrower will not use (`avoided`): one whose result lost a comparison of
    /// replicas, or one already running another replica of the same job.
    public var avoided: Set<PublicKey>

    /// A request; `cores` below 1 counts as 1, negative or non-finite work as 0.
    public init(
        borrower: PublicKey, runtime: String, tools: [String] = [], cores: Int = 1, memoryBytes: Int64 = 0,
        workCoreSeconds: Double = 0, coordinate: VivaldiCoordinate? = nil, now: Int64,
        maxLatencyMs: Double? = nil, avoided: Set<PublicKey> = []
    ) {
        self.borrower = borrower
        self.runtime = runtime
        self.tools = tools
        self.cores = max(1, cores)
        self.memoryBytes = memoryBytes
        self.workCoreSeconds = workCoreSeconds.isFinite ? max(0, workCoreSeconds) : 0
        self.coordinate = coordinate
        self.now = now
        self.maxLatencyMs = maxLatencyMs
        self.avoided = avoided
    }
}
