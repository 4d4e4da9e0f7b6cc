// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Jobs
import Lending
import Records

extension Scenario {
    /// The lending economy of a scenario (`[lending]`, `spec/0018-lending-simulation.md`): who
    /// lends and borrows, how much, and the rule the community tries out (issue 4's "lenders,
    /// borrowers and their policies"). Times in seconds of virtual time, work in core-seconds.
    public struct Lending: Sendable, Hashable {
        /// The community's rule for a busy lender's line (`policy.order`): the node's own
        /// (``LineRule/Order``).
        public typealias Order = LineRule.Order
        /// How waiting requests are paired with offers (`matching.mode`).
        public enum MatchingMode: String, Sendable, Hashable {
            /// `Matcher.assign` on every pending request at once, each tick (`spec/0016` §4).
            case batch
            /// `Matcher.rank` per request over the offers its borrower knows or drew (`spec/0016` §3).
            case each
        }

        /// Fraction of peers that borrow and never lend (`classes.free_riders`).
        public var freeRiders: Double = 0.2
        /// Fraction of peers that lend and borrow but join during the window (`classes.newcomers`).
        public var newcomers: Double = 0
        /// Fraction of peers that never lend and take a fresh identity every
        /// ``whitewashInterval`` seconds (`classes.whitewashers`): cheaters.
        public var whitewashers: Double = 0
        /// Seconds between a whitewasher's new identities (`classes.whitewash_interval_s`).
        public var whitewashInterval: Double = 1800
        /// Fraction of peers that each run a sybil region (`classes.sybils`): the peer lends
        /// under its own key like a contributor, borrows under ``sybilIdentities`` other keys in
        /// turn, and records fake work from each of them to its lending key, so each identity's
        /// flow rides the region's real work.
        public var sybils: Double = 0
        /// Whether each sybil identity borrows as often as a peer (`classes.sybil_borrow =
        /// "per-identity"`, the attack: more keys, more demand) or the region as often as one
        /// peer (`"per-region"`).
        public var sybilBorrowsPerIdentity = true
        /// Identities a sybil region borrows under (`classes.sybil_identities`).
        public var sybilIdentities: Int = 10
        /// Core-seconds of fake work each sybil identity signs to its region's lender
        /// (`classes.sybil_fake_work_s`), recorded at the start.
        public var sybilFakeWork: Double = 1e6
        /// Fraction of peers that lend and borrow like contributors but return wrong results
        /// (`classes.malicious`): EigenTrust's malicious peers (Kamvar et al. 2003, threat
        /// model A), with ``maliciousHonesty`` its model C.
        public var malicious: Double = 0
        /// The probability that a malicious lender returns a right result anyway
        /// (`classes.malicious_honesty`, EigenTrust's *f*): 0 always wrong (model A), between 0
        /// and 1 a camouflaged lender (model C).
        public var maliciousHonesty: Double = 0
        /// Core-seconds of fake work each malicious peer records, at the start, as received from
        /// the next malicious peer in peer order (a ring; `classes.malicious_collective_work_s`):
        /// EigenTrust's threat model B, a collective whose members vouch for each other. 0 (the
        /// default): independent malicious peers.
        public var maliciousCollectiveWork: Double = 0
        /// Fraction of peers that are **spies** (`classes.spies`, EigenTrust's threat model D):
        /// they lend right results and borrow like contributors, and at the start each records
        /// ``spyVouchWork`` core-seconds as received from every malicious peer, vouching for them
        /// with the trust their real work earns.
        public var spies: Double = 0
        /// Core-seconds each spy records from each malicious peer (`classes.spy_vouch_work_s`).
        public var spyVouchWork: Double = 1e6
        /// Whether malicious lenders return the same wrong result (`classes.malicious_agree`), so
        /// that their replicas agree with each other; otherwise each wrong result differs.
        public var maliciousAgree = false
        /// Lenders each job runs on at once, their results compared (`replicas`, as `potluck run
        /// --replicas K`; `spec/0018` §2.6).
        public var replicas: Int = 1
        /// Cores each lender lends (`lender_cores`).
        public var lenderCores: Int = 4
        /// Cores each job uses (`job_cores`), at most ``lenderCores``.
        public var jobCores: Int = 1
        /// Jobs each borrower submits per hour, a Poisson process (`jobs_per_hour`).
        public var jobsPerHour: Double = 1
        /// Work per job, core-seconds (`[lending.job_size]`, a distribution of `spec/0010` §4.3).
        public var jobSize: Distribution = .exponential(mean: 600)
        /// Jobs that may wait in a lender's line beside those running (`line_limit`).
        public var lineLimit: Int = 4
        /// A job waiting longer in a line is refused `busy` and goes back to its borrower
        /// (`max_line_wait_s`; `spec/0017` §3.2's lender limit).
        public var maxLineWait: Double = 60

        public var order: Order = .trust
        /// Under `potluck`, the weight of what a borrower gave beside its floored net (`policy.gave_weight`).
        public var gaveWeight: Double = LineRule.defaultGaveWeight
        /// Core-seconds of credit an identity first seen after the start gets (`policy.starter_grant`).
        public var starterGrant: Double = 0
        /// Half-life of credit, seconds (`policy.decay_half_life_s`); nil: credit never fades.
        public var decayHalfLife: Double?

        public var matching: MatchingMode = .batch
        /// Seconds between match ticks (`matching.interval_s`).
        public var matchInterval: Double = 10
        /// Batch: nearest offers kept per request; each: offers drawn per request (`matching.candidates`).
        public var candidates: Int = 16
        /// Lenders a borrower remembers (the last that served it), scored with what it knows
        /// (`matching.known_lenders`).
        public var knownLenders: Int = 0
        /// Requests matched per tick at most, oldest first (`matching.max_requests_per_tick`).
        public var maxRequestsPerTick: Int = 20_000

        /// Seconds between trust snapshots (`trust.interval_s`).
        public var trustInterval: Double = 300
        /// Longest path of work counted (`trust.max_path_length`, BarterCast's 2).
        public var maxPathLength: Int = 2
        /// Net flow scoring 0.5, core-seconds (`trust.unit`).
        public var trustUnit: Double = 3600
        /// Which receipts a peer ranks from (`trust.view`).
        public var view = TrustView.node
        /// When lenders lend (`[lending.availability]`, `spec/0018` §2.7): the share of lenders
        /// that lend only inside `window` (UTC; the run starts at midnight), the share that lend
        /// only while their owner leaves the machine idle, the share of the time such an owner
        /// uses it, the mean length of one use, and how long a borrower leaves a lender alone
        /// after it refused `not-idle` (the node's ``JobRefusal/ownerBackMemory``; 0: never).
        public var windowedLenders: Double = 0
        public var lenderWindow = TimeWindow("01:00-03:00")!
        public var idleOnlyLenders: Double = 0
        public var ownerBusyShare: Double = 0.25
        public var ownerBusyMean: Double = 1800
        public var ownerBackMemory: Double = Double(JobRefusal.ownerBackMemory.components.seconds)
        /// Whether an idle-only lender's offer says when its machine is busy, as the node's does
        /// (`offer_says_busy`, `spec/0011` §2.2); false: borrowers learn it only from refusals.
        public var offerSaysBusy = true
        /// Whether an idle-only lender pauses its running jobs while its offer says busy and gives
        /// back one paused `JobMessage.pauseLimit`, as the node does (`pause_while_busy`,
        /// `spec/0019` §2.4); false: jobs run on through the owner's use.
        public var pauseWhileBusy = true
        /// Circles of friends (`[lending.friends]`, `spec/0018` §2.8): a share `share` of the
        /// peers in circles of `circle`, each listing the others as friends; 0: no friends.
        /// With `ranked_first`, borrowers also tell the matcher their friends serve them first
        /// (a design the node rejected, kept to show why).
        public var friendCircle = 0
        public var friendShare = 1.0
        public var friendsRankedFirst = false

        public init() {}

        /// Fraction of peers that lend from the start.
        public var contributors: Double { 1 - freeRiders - newcomers - whitewashers - sybils - malicious - spies }
    }

    /// Which receipts a peer ranks others from (`trust.view`, `spec/0018` §4).
    public enum TrustView: String, Sendable, CaseIterable {
        /// Every receipt of the community: a view no node has, kept for comparison.
        case global
        /// Only the receipts the peer is a party to.
        case own
        /// What its node holds: its own receipts, and what each borrower that asked it for work
        /// had published, gathered at most once an hour (`spec/0011` Appendix A).
        case node
    }

    /// The metrics an `[expected]` table of a lending scenario may bound (``LendingReport``).
    public static let lendingExpectableMetrics: [String] = [
        "contributors_wait_s_p50", "contributors_wait_s_p90", "free_riders_wait_s_p50", "free_riders_wait_s_p90",
        "newcomers_wait_s_p50", "whitewashers_wait_s_p50", "free_riders_unserved_rate", "contributors_unserved_rate",
        "free_riders_wait_ratio", "lender_utilization", "jobs_completed", "bad_result_rate",
    ]

    static func readLending(_ reader: inout TableReader) throws(ScenarioError) -> Lending {
        var lending = Lending()
        lending.lenderCores = try reader.int("lender_cores", default: lending.lenderCores, in: 1...Offer.maxCores)
        lending.jobCores = try reader.int("job_cores", default: lending.jobCores, in: 1...Offer.maxCores)
        guard lending.jobCores <= lending.lenderCores else {
            throw ScenarioError(key: reader.key("job_cores"), "must be at most lender_cores (\(lending.lenderCores))")
        }
        lending.jobsPerHour = try reader.double("jobs_per_hour", default: lending.jobsPerHour, in: 0...3600)
        lending.replicas = try reader.int("replicas", default: lending.replicas, in: 1...7)
        lending.lineLimit = try reader.int("line_limit", default: lending.lineLimit, in: 0...1000)
        lending.maxLineWait = try reader.double("max_line_wait_s", default: lending.maxLineWait, in: 0.001...1e7)
        if var size = try reader.table("job_size") { lending.jobSize = try readDistribution(&size) }
        if var classes = try reader.table("classes") {
            lending.freeRiders = try classes.double("free_riders", default: lending.freeRiders, in: 0...1)
            lending.newcomers = try classes.double("newcomers", default: lending.newcomers, in: 0...1)
            lending.whitewashers = try classes.double("whitewashers", default: lending.whitewashers, in: 0...1)
            lending.whitewashInterval = try classes.double("whitewash_interval_s", default: lending.whitewashInterval, in: 1...1e8)
            lending.sybils = try classes.double("sybils", default: lending.sybils, in: 0...1)
            lending.sybilIdentities = try classes.int("sybil_identities", default: lending.sybilIdentities, in: 1...100_000)
            lending.sybilFakeWork = try classes.double("sybil_fake_work_s", default: lending.sybilFakeWork, in: 0...1e12)
            lending.sybilBorrowsPerIdentity = try classes.string("sybil_borrow", default: "per-identity",
                                                                 oneOf: ["per-identity", "per-region"]) == "per-identity"
            lending.malicious = try classes.double("malicious", default: lending.malicious, in: 0...1)
            lending.maliciousHonesty = try classes.double("malicious_honesty", default: lending.maliciousHonesty, in: 0...1)
            lending.maliciousCollectiveWork = try classes.double("malicious_collective_work_s", default: lending.maliciousCollectiveWork,
                                                                 in: 0...1e12)
            lending.spies = try classes.double("spies", default: lending.spies, in: 0...1)
            lending.spyVouchWork = try classes.double("spy_vouch_work_s", default: lending.spyVouchWork, in: 0...1e12)
            lending.maliciousAgree = try classes.bool("malicious_agree", default: lending.maliciousAgree)
            guard lending.contributors >= 0 else {
                throw ScenarioError(key: classes.key("free_riders"), "free_riders + newcomers + whitewashers + sybils + malicious + spies must be at most 1")
            }
            try classes.finish()
        }
        if var availability = try reader.table("availability") {
            lending.windowedLenders = try availability.double("windowed", default: lending.windowedLenders, in: 0...1)
            let window = try availability.string("window", default: lending.lenderWindow.description)
            guard let parsed = TimeWindow(window) else {
                throw ScenarioError(key: availability.key("window"), "'\(window)' is not a daily window: use HH:MM-HH:MM, e.g. 22:00-07:00")
            }
            lending.lenderWindow = parsed
            lending.idleOnlyLenders = try availability.double("idle_only", default: lending.idleOnlyLenders, in: 0...1)
            lending.ownerBusyShare = try availability.double("owner_busy", default: lending.ownerBusyShare, in: 0...0.99)
            lending.ownerBusyMean = try availability.double("owner_busy_mean_s", default: lending.ownerBusyMean, in: 1...1e7)
            lending.ownerBackMemory = try availability.double("owner_back_memory_s", default: lending.ownerBackMemory, in: 0...1e7)
            lending.offerSaysBusy = try availability.bool("offer_says_busy", default: lending.offerSaysBusy)
            lending.pauseWhileBusy = try availability.bool("pause_while_busy", default: lending.pauseWhileBusy)
            try availability.finish()
        }
        if var friends = try reader.table("friends") {
            lending.friendCircle = try friends.int("circle", default: lending.friendCircle, in: 0...64)
            lending.friendShare = try friends.double("share", default: lending.friendShare, in: 0...1)
            lending.friendsRankedFirst = try friends.bool("ranked_first", default: lending.friendsRankedFirst)
            guard lending.friendCircle != 1 else { throw ScenarioError(key: friends.key("circle"), "a circle of friends has at least 2 peers (0: none)") }
            try friends.finish()
        }
        if var policy = try reader.table("policy") {
            let order = try policy.string("order", default: lending.order.rawValue, oneOf: LineRule.Order.allCases.map(\.rawValue))
            lending.order = Lending.Order(rawValue: order) ?? .trust
            lending.starterGrant = try policy.double("starter_grant", default: lending.starterGrant, in: 0...1e9)
            lending.gaveWeight = try policy.double("gave_weight", default: lending.gaveWeight, in: 0...1)
            let halfLife = try policy.double("decay_half_life_s", default: lending.decayHalfLife ?? 0, in: 0...1e9)
            lending.decayHalfLife = halfLife > 0 ? halfLife : nil
            try policy.finish()
        }
        if var matching = try reader.table("matching") {
            let mode = try matching.string("mode", default: lending.matching.rawValue, oneOf: ["batch", "each"])
            lending.matching = Lending.MatchingMode(rawValue: mode) ?? .batch
            lending.matchInterval = try matching.double("interval_s", default: lending.matchInterval, in: 0.001...1e6)
            lending.candidates = try matching.int("candidates", default: lending.candidates, in: 1...1024)
            lending.knownLenders = try matching.int("known_lenders", default: lending.knownLenders, in: 0...64)
            lending.maxRequestsPerTick = try matching.int("max_requests_per_tick", default: lending.maxRequestsPerTick, in: 1...1_000_000)
            try matching.finish()
        }
        if var trust = try reader.table("trust") {
            lending.trustInterval = try trust.double("interval_s", default: lending.trustInterval, in: 1...1e7)
            lending.maxPathLength = try trust.int("max_path_length", default: lending.maxPathLength, in: 1...6)
            lending.trustUnit = try trust.double("unit", default: lending.trustUnit, in: 0.001...1e9)
            let view = try trust.string("view", default: lending.view.rawValue, oneOf: TrustView.allCases.map(\.rawValue))
            lending.view = TrustView(rawValue: view) ?? lending.view
            try trust.finish()
        }
        try reader.finish()
        return lending
    }
}
