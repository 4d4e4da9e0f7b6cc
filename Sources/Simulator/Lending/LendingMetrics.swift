// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Jobs
import Lending

/// What the lending economy measures (`spec/0018-lending-simulation.md` §5).
public struct LendingMetrics: Sendable {
    /// Per class of peer, in ``PeerClass`` order.
    public struct PerClass: Sendable {
        public var peers = 0
        /// Jobs submitted inside the window.
        public var submitted = 0
        /// Of those, started and completed (result back) before the end.
        public var started = 0
        public var completed = 0
        /// Line timeouts (`busy` refusals) of the class's jobs.
        public var refusals = 0
        /// Trust of the lender in the borrower at each admission to a line (trust policy only):
        /// how many, their sum, and how many were not zero.
        public var trustAsked = 0
        public var trustSum = 0.0
        public var trustKnown = 0
        /// Waits (submission → start), seconds, of jobs submitted in the window; those never
        /// started count with their wait up to the end (censored).
        public var waits: [Double] = []
        /// Core-seconds computed by the class's lenders, and received by its borrowers (all run).
        public var given = 0.0
        public var received = 0.0
        /// Results the class's lenders returned (all run), and how many of them were wrong.
        public var resultsGiven = 0
        public var wrongResultsGiven = 0
        /// Of the class's ``completed`` jobs, those whose result was wrong.
        public var wrongResultsReceived = 0
        public var unserved: Int { submitted - started }
    }

    public var classes = Array(repeating: PerClass(), count: PeerClass.allCases.count)
    /// Assignments that broke a hard constraint, a lender's capacity or its policy: always 0.
    public var constraintViolations = 0
    public var assignments = 0
    public var matchTicks = 0
    public var assignmentFallbacks = 0
    public var auctionBids = 0
    public var receipts = 0
    public var trustSnapshots = 0
    /// Jobs refused `unavailable`: the lender's window closed or its owner came back meanwhile.
    public var unavailableRefusals = 0
    /// Idle-only offers published again because their machine turned busy or idle (`spec/0011` §2.2).
    public var busySignals = 0
    /// Jobs paused while their lender's owner used the machine, and those given back after
    /// the pause limit (`pause_while_busy`, `spec/0019` §2.4).
    public var pauses = 0
    public var givenBack = 0
    /// Core-seconds guests ran on machines whose owner was using them, in the window.
    public var guestCoreSecondsBesideOwner = 0.0
    /// Under `trust.view = "node"`: borrowers gathered by lenders, and snapshots of peers' ledgers.
    public var gatherings = 0
    public var ledgerSnapshots = 0
    public var whitewashes = 0
    /// Replicated jobs (§2.6): comparisons without a majority (each ran one more replica),
    /// jobs of the window that ended with none, and replicas whose receipt was not countersigned.
    public var replicaDisagreements = 0
    public var jobsUnresolved = 0
    public var receiptsRefused = 0
    /// Core-seconds computed (lender side, at the end of each job) and received (borrower side,
    /// when the result arrives); the difference is the results still travelling at the end.
    public var computeGiven = 0.0
    public var computeReceived = 0.0
    /// Core-seconds counted in the graph of work (the receipts' figures).
    public var receiptCoreSeconds = 0.0
    public var resultsInFlight = 0
    public var resultsInFlightCoreSeconds = 0.0
    /// Core-seconds of lenders' work inside the window, and what they could have given.
    public var busyCoreSeconds = 0.0
    public var capacityCoreSeconds = 0.0
    /// With friend circles (§2.8): measured jobs started at a friend's lender; measured jobs
    /// of borrowers in a circle and of the others (submitted, started, sum of the started
    /// ones' waits in seconds).
    public var friendStarts = 0
    public var circled = Group()
    public var uncircled = Group()

    public struct Group: Sendable {
        public var submitted = 0, started = 0
        public var waitSum = 0.0
    }
}

/// One row of the economy's time series.
public struct LendingSample: Sendable {
    public var time: Double
    public var pending: Int
    public var waitingInLines: Int
    public var running: Int
    /// Median wait (s) of the jobs of each class that started since the previous sample; nil
    /// when none did.
    public var medianWait: [Double?]

    static var csvHeader: String {
        (["time_s", "pending", "waiting_in_lines", "running"] + PeerClass.allCases.map { "wait_s_p50_\($0.name)" })
            .joined(separator: ",")
    }

    var csvRow: String {
        ([format(time, 1), "\(pending)", "\(waitingInLines)", "\(running)"] + medianWait.map { $0.map { format($0, 2) } ?? "" })
            .joined(separator: ",")
    }
}

extension LendingSimulation {
    func takeSample() {
        let waiting = desks.reduce(0) { $0 + $1.waitingCount }
        let medians: [Double?] = sampleWaits.map { waits in
            waits.isEmpty ? nil : percentile(waits.sorted(), 50)
        }
        series.append(LendingSample(time: Double(now) / 1e9, pending: pool.count, waitingInLines: waiting,
                                    running: runningJobs, medianWait: medians))
        for index in sampleWaits.indices { sampleWaits[index].removeAll(keepingCapacity: true) }
        let next = now + Self.nanoseconds(scenario.deployment.sampleInterval)
        if next <= end { queue.schedule(.sample, at: next) }
    }

    /// At the end: censored waits of jobs never started, and the lenders' capacity over the window.
    func finishMetrics() {
        for job in jobs where job.measured && job.replica == 0 && (job.state == .pending || job.state == .travelling || job.state == .waiting) {
            metrics.classes[Int(peerClass[Int(job.borrower)].rawValue)].waits.append(Double(end - job.submitted) / 1e9)
        }
        for slot in lenderPeer.indices {
            accountBesideOwner(slot)
            let from = max(lenderJoined[slot], measureStart)
            if from < measureEnd {
                metrics.capacityCoreSeconds += Double(measureEnd - from) / 1e9 * Double(lending.lenderCores)
            }
        }
    }
}
