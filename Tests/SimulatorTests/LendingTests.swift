// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Foundation
import Simulator
import Testing

/// The lending economy (`spec/0018-lending-simulation.md`): the self-regulation claim, one seed
/// one run, the matcher's constraints, conservation of work, and strict scenario parsing.
@Suite struct LendingTests {
    /// A small community with scarce capacity: 150 peers, a quarter free riders, demand about 130 %
    /// of what the lenders lend (the contributors' own demand about 100 %). Small enough for a
    /// debug build; dense enough (24 jobs per peer-hour) that lenders know most borrowers.
    static func scenario(order: String = "trust", seed: Int = 3, mode: String = "batch", known: Int = 0, extra: String = "")
        -> String
    {
        """
        name = "lending-test"
        seed = \(seed)
        [platform]
        nodes = 150
        [platform.latency]
        model = "geometric"
        base_ms = 10.0
        scale_ms = 100.0
        [deployment]
        warmup_s = 3600.0
        duration_s = 3600.0
        drain_s = 900.0
        sample_interval_s = 600.0
        [lending]
        lender_cores = 2
        jobs_per_hour = 24.0
        line_limit = 16
        max_line_wait_s = 600.0
        [lending.job_size]
        distribution = "exponential"
        mean_s = 300.0
        [lending.classes]
        free_riders = 0.25
        \(extra)
        [lending.policy]
        order = "\(order)"
        [lending.matching]
        mode = "\(mode)"
        known_lenders = \(known)
        """
    }

    static func run(_ text: String) throws -> LendingReport {
        LendingSimulation(scenario: try Scenario(toml: text)).run()
    }

    static func meanWait(_ report: LendingReport, _ peerClass: PeerClass) throws -> Double {
        try #require(report.figures(peerClass)).waitSecondsMean
    }

    /// The claim the simulator exists to test: when capacity is scarce, lenders that serve by
    /// trust make free riders wait clearly longer than contributors (here at least 1.4 times as
    /// long on average; measured 1.60 and 1.74 with seeds 3 and 4, release build); first come,
    /// first served does not (within 20 %; measured 1.00 and 1.06).
    @Test(arguments: [3, 4])
    func trustMakesFreeRidersWaitFifoDoesNot(seed: Int) throws {
        let trust = try Self.run(Self.scenario(order: "trust", seed: seed))
        let fifo = try Self.run(Self.scenario(order: "fifo", seed: seed))
        let trustRatio = try Self.meanWait(trust, .freeRider) / Self.meanWait(trust, .contributor)
        let fifoRatio = try Self.meanWait(fifo, .freeRider) / Self.meanWait(fifo, .contributor)
        #expect(trustRatio > 1.4, "trust: free riders wait \(trustRatio)× as long as contributors")
        #expect(fifoRatio > 0.8 && fifoRatio < 1.2, "fifo: free riders wait \(fifoRatio)× as long as contributors")
        #expect(trust.lenderUtilization > 0.95 && fifo.lenderUtilization > 0.95, "capacity must be scarce")
    }

    /// Issue 18's fresh-identity claim (`spec/0022`): under net flow trust a whitewasher (a free
    /// rider that takes a new key every half hour) waits clearly less than a free rider that
    /// keeps its key, with or without a starter grant; under Potluck's rule it waits at least
    /// as long (within 15 %; measured 0.95 and 1.00), and honest newcomers still wait at most twice the contributors.
    /// Whatever a lender ranks from: what its node holds (`trust.view = "node"`, the default),
    /// only its own receipts (`own`), or every receipt of the community (`global`).
    @Test(arguments: [(0.0, "node"), (1800.0, "node"), (0.0, "own"), (0.0, "global")])
    func whitewashingPaysUnderNetTrustNotUnderPotlucksRule(grant: Double, view: String) throws {
        let classes = "newcomers = 0.1\nwhitewashers = 0.1\nwhitewash_interval_s = 1800.0"
        let policy = { (order: String) in
            Self.scenario(order: order, extra: classes)
                .replacingOccurrences(of: "order = \"\(order)\"", with: "order = \"\(order)\"\nstarter_grant = \(grant)\ndecay_half_life_s = 3600.0")
                + "\n[lending.trust]\nview = \"\(view)\"\n"
        }
        let trust = try Self.run(policy("trust"))
        let potluck = try Self.run(policy("potluck"))
        let wait = { (report: LendingReport, peerClass: PeerClass) in report.figures(peerClass)?.waitSecondsP50 ?? .nan }
        #expect(wait(trust, .whitewasher) < 0.8 * wait(trust, .freeRider),
                "trust: whitewashers \(wait(trust, .whitewasher)) s, free riders \(wait(trust, .freeRider)) s")
        #expect(wait(potluck, .whitewasher) > 0.85 * wait(potluck, .freeRider),
                "potluck: whitewashers \(wait(potluck, .whitewasher)) s, free riders \(wait(potluck, .freeRider)) s")
        #expect(wait(potluck, .newcomer) < 2 * wait(potluck, .contributor),
                "potluck: newcomers \(wait(potluck, .newcomer)) s, contributors \(wait(potluck, .contributor)) s")
        #expect(wait(potluck, .freeRider) > 1.4 * wait(potluck, .contributor),
                "potluck: free riders \(wait(potluck, .freeRider)) s, contributors \(wait(potluck, .contributor)) s")
    }

    /// A lender's node gathers what each borrower that asks it for work published
    /// (`spec/0011` Appendix A), so it ranks borrowers by the work they gave others too: under
    /// the node's view (the default) free riders wait longer, against contributors, than when
    /// each lender ranks from its own receipts alone (mean wait ratio 1.50 against 1.36 with
    /// seed 3; 1.70 / 1.52 and 1.90 / 1.59 with seeds 4 and 5; every receipt of the community
    /// gives 1.74 and 1.95 with seeds 4 and 5).
    @Test func lendersRankBorrowersByWhatTheyPublished() throws {
        let view = { (name: String) in try Self.run(Self.scenario(order: "trust") + "\n[lending.trust]\nview = \"\(name)\"\n") }
        let node = try view("node"), own = try view("own")
        #expect(node.trustView == "node" && node.gatherings > 0 && node.ledgerSnapshots > 0)
        #expect(own.gatherings == 0 && own.ledgerSnapshots == 0)
        let ratio = { (report: LendingReport) in try Self.meanWait(report, .freeRider) / Self.meanWait(report, .contributor) }
        let (gathered, alone) = (try ratio(node), try ratio(own))
        #expect(gathered > alone + 0.1, "free riders wait \(gathered)× contributors (own receipts: \(alone)×)")
    }

    /// Lenders' windows and owners (`[lending.availability]`, `spec/0018` §2.7), judged by the
    /// node's matcher and desk: no lender lends outside its window, and one whose owner uses the
    /// machine refuses what arrives meanwhile (`not-idle`), which goes back to the pool, and its
    /// borrower leaves it alone for a while; neither breaks a constraint. A third of the usual demand, so that owners away half the time leave
    /// enough capacity: what they refuse waits longer but is served.
    @Test func lendersLendOnlyInTheirWindowsAndWhileTheirOwnersAreAway() throws {
        let availability = { (keys: String) in
            try Self.run(Self.scenario(order: "potluck").replacingOccurrences(of: "jobs_per_hour = 24.0", with: "jobs_per_hour = 8.0")
                + "\n[lending.availability]\n" + keys + "\n")
        }
        let closed = try availability("windowed = 1.0\nwindow = \"12:00-13:00\"")  // the run spans 00:00-02:15
        #expect(closed.jobsCompleted == 0 && closed.constraintViolations == 0 && closed.unavailableRefusals == 0)
        let always = try availability("idle_only = 0.0")
        let owners = try availability("idle_only = 1.0\nowner_busy = 0.5\nowner_busy_mean_s = 600.0")
        #expect(owners.constraintViolations == 0 && owners.unavailableRefusals > 0)
        #expect(owners.jobsCompleted > 0 && always.jobsCompleted > 0)
        let (busy, free) = (try Self.meanWait(owners, .contributor), try Self.meanWait(always, .contributor))
        #expect(busy > free, "contributors wait \(busy) s on average when owners use their machines half the time, \(free) s otherwise")
        // An idle-only lender's offer says when its machine is busy, as the node's does
        // (`spec/0011` §2.2): borrowers then ask it only in the 30 s before the offer says so.
        let unsaid = try availability("idle_only = 1.0\nowner_busy = 0.5\nowner_busy_mean_s = 600.0\noffer_says_busy = false")
        #expect(unsaid.constraintViolations == 0 && owners.busySignals > 0 && unsaid.busySignals == 0)
        #expect(3 * owners.unavailableRefusals < unsaid.unavailableRefusals,
                "\(owners.unavailableRefusals) refusals when offers say their machine is busy, \(unsaid.unavailableRefusals) otherwise")
        // A borrower leaves a lender whose owner came back alone for ten minutes, as the node
        // does (`spec/0017` §3.4); one that forgets is refused far more often.
        let forgetful = try availability("idle_only = 1.0\nowner_busy = 0.5\nowner_busy_mean_s = 600.0\noffer_says_busy = false\nowner_back_memory_s = 0.0")
        #expect(forgetful.constraintViolations == 0)
        #expect(2 * unsaid.unavailableRefusals < forgetful.unavailableRefusals,
                "\(unsaid.unavailableRefusals) refusals remembering them, \(forgetful.unavailableRefusals) forgetting")
    }

    /// An idle-only lender pauses its jobs while its offer says the owner is at the machine and
    /// gives back one paused ten minutes, as the node does (`pause_while_busy`, `spec/0019`
    /// §2.4): guests then run beside an owner only in the 30 s before the offer says so, and
    /// every job is still served.
    @Test func anIdleOnlyLendersJobsPauseWhileItsOwnerIsThere() throws {
        let owners = { (pause: Bool) in
            try Self.run(Self.scenario(order: "potluck").replacingOccurrences(of: "jobs_per_hour = 24.0", with: "jobs_per_hour = 8.0")
                + "\n[lending.availability]\nidle_only = 1.0\nowner_busy = 0.5\nowner_busy_mean_s = 1200.0\npause_while_busy = \(pause)\n")
        }
        let paused = try owners(true), running = try owners(false)
        #expect(paused.constraintViolations == 0 && paused.pauses > 0 && paused.givenBack > 0 && paused.givenBack <= paused.pauses)
        #expect(running.pauses == 0 && running.givenBack == 0)
        #expect(3 * paused.guestCoreSecondsBesideOwner < running.guestCoreSecondsBesideOwner,
                "guests ran \(paused.guestCoreSecondsBesideOwner) core-s beside an owner when paused, \(running.guestCoreSecondsBesideOwner) otherwise")
        #expect(paused.jobsCompleted > 0 && paused.jobsCompleted + paused.jobsCompleted / 10 >= running.jobsCompleted,
                "\(paused.jobsCompleted) jobs completed when paused, \(running.jobsCompleted) otherwise")
    }

    /// Friend circles (`[lending.friends]`, `spec/0018` §2.8): lenders serve their friends
    /// first and borrowers know their friends' machines, so under contention the half of the
    /// peers that have friends wait less than the half that have none. Telling the matcher that
    /// friends serve them first (`ranked_first`, which the node does not) turns it around: they
    /// crowd their friends' machines. Without circles nobody is anyone's friend.
    @Test func friendsServeEachOtherFirst() throws {
        let text = Self.scenario(order: "potluck")
        let circles = try Self.run(text + "\n[lending.friends]\ncircle = 5\nshare = 0.5\n")
        #expect(circles.constraintViolations == 0)
        let share = try #require(circles.friendStartShare)
        let (with, without) = (try #require(circles.circledMeanWait), try #require(circles.uncircledMeanWait))
        #expect(share > 0.01, "\(circles.friendStarts) jobs started at a friend's")
        #expect(with < without, "borrowers with friends waited \(with) s on average, the others \(without) s")
        let ranked = try Self.run(text + "\n[lending.friends]\ncircle = 5\nshare = 0.5\nranked_first = true\n")
        let (crowded, spared) = (try #require(ranked.circledMeanWait), try #require(ranked.uncircledMeanWait))
        #expect(ranked.friendStarts > circles.friendStarts && crowded > spared,
                "ranked first: \(ranked.friendStarts) jobs at a friend's, waits \(crowded) s with friends, \(spared) s without")
        let alone = try Self.run(text)
        #expect(alone.friendStarts == 0 && alone.friendStartShare == nil)
        #expect(throws: ScenarioError.self) { try Scenario(toml: text + "\n[lending.friends]\ncircle = 1\n") }
    }

    /// Sybil regions (`spec/0018` §2.4): a region borrowing per identity asks about as many
    /// jobs as its identities would, lends like a contributor, and its figures are reported.
    @Test func sybilRegionsBorrowUnderTheirIdentitiesAndLend() throws {
        let text = Self.scenario(extra: "sybils = 0.1\nsybil_identities = 5")
        let report = try Self.run(text)
        let sybils = try #require(report.figures(.sybil)), contributors = try #require(report.figures(.contributor))
        let perPeer = { (figures: LendingReport.ClassFigures) in Double(figures.jobsSubmitted) / Double(figures.peers) }
        let ratio = perPeer(sybils) / perPeer(contributors)
        #expect(ratio > 3.5 && ratio < 6.5, "a region of 5 identities asks \(ratio)× a contributor's jobs")
        #expect(sybils.computeGiven > 0 && sybils.computeReceived > 0)
        #expect(report.constraintViolations == 0)
        // Borrowing as one peer, the region asks as much as a contributor.
        let regional = try Self.run(text.replacingOccurrences(of: "sybil_identities = 5", with: "sybil_identities = 5\nsybil_borrow = \"per-region\""))
        let calm = try #require(regional.figures(.sybil))
        let calmRatio = perPeer(calm) / perPeer(try #require(regional.figures(.contributor)))
        #expect(calmRatio > 0.6 && calmRatio < 1.5, "\(calmRatio)")
    }

    /// EigenTrust's threat models as agents (`spec/0018` §2.5), on half the window of the other
    /// tests (these runs are many, and each holds a test thread):
    /// - A: malicious peers lend and borrow like contributors; every result they return is
    ///   wrong, no other lender's ever is, and with one replica the borrower cannot tell, so
    ///   honest peers' share of wrong results follows the malicious lenders' share of the work;
    /// - C: a camouflaged one is wrong about a fraction 1 − f of the time, never at f = 1;
    /// - B: a collective's fake receipts change the run but buy its members no trust;
    /// - D: spies lend right results and vouch for the malicious peers: their real work carries
    ///   the fake receipts' flow on, so the malicious peers rank higher in lines.
    @Test func eigenTrustsThreatModelsBehaveAsSpecified() throws {
        let run = { (extra: String) in
            try Self.run(Self.scenario(extra: "malicious = 0.2\n" + extra)
                .replacingOccurrences(of: "warmup_s = 3600.0", with: "warmup_s = 1800.0")
                .replacingOccurrences(of: "duration_s = 3600.0", with: "duration_s = 1800.0"))
        }
        let modelA = try run("")
        let malicious = try #require(modelA.figures(.malicious))
        #expect(malicious.peers > 15 && malicious.resultsGiven > 100 && malicious.jobsCompleted > 0)
        #expect(malicious.wrongResultsGiven == malicious.resultsGiven)
        for other in modelA.classes where other.name != malicious.name {
            #expect(other.wrongResultsGiven == 0, "\(other.name) returned \(other.wrongResultsGiven) wrong results")
        }
        // A fifth of the peers, a quarter of them free riders: about a quarter of the lenders.
        let rate = try #require(modelA.badResultRate)
        #expect(rate > 0.1 && rate < 0.45, "bad result rate \(rate)")
        #expect(modelA.value(of: "bad_result_rate") == rate)
        #expect(modelA.constraintViolations == 0)

        let modelC = try #require(try run("malicious_honesty = 0.5").figures(.malicious))
        let wrongShare = Double(modelC.wrongResultsGiven) / Double(modelC.resultsGiven)
        #expect(wrongShare > 0.4 && wrongShare < 0.6, "wrong share \(wrongShare)")
        let honest = try run("malicious_honesty = 1.0")
        #expect(honest.badResultRate == 0 && honest.classes.allSatisfy { $0.wrongResultsGiven == 0 })

        // Measured (release build): the malicious peers' mean trust at admission −0.023 alone,
        // −0.027 in a collective, 0.144 with 10 % spies; their mean waits 393, 392 and 371 s.
        let collective = try run("malicious_collective_work_s = 1000000.0")
        #expect(collective.traceHash != modelA.traceHash)
        let together = try #require(collective.figures(.malicious))
        #expect(together.trustMean < malicious.trustMean + 0.05, "trust \(malicious.trustMean) → \(together.trustMean)")
        #expect(together.waitSecondsMean > 0.8 * malicious.waitSecondsMean)
        let spied = try run("spies = 0.1")
        let spies = try #require(spied.figures(.spy)), helped = try #require(spied.figures(.malicious))
        #expect(spies.resultsGiven > 100 && spies.wrongResultsGiven == 0)
        #expect(helped.trustMean > malicious.trustMean + 0.1, "trust \(malicious.trustMean) → \(helped.trustMean)")
        #expect(helped.waitSecondsMean < malicious.waitSecondsMean, "wait \(malicious.waitSecondsMean) → \(helped.waitSecondsMean)")
    }

    /// Spec 0018 §2.6: replicas compared by majority. Independent malicious lenders (model A)
    /// never agree with anyone, so no wrong result is accepted and none of theirs is
    /// countersigned; a collective that returns one wrong answer wins where it holds a majority.
    @Test func replicasOutvoteIndependentMaliciousLenders() throws {
        let run = { (replicas: Int, extra: String) in
            try Self.run(Self.scenario(extra: "malicious = 0.2\n" + extra)
                .replacingOccurrences(of: "jobs_per_hour = 24.0", with: "jobs_per_hour = 6.0\nreplicas = \(replicas)")
                .replacingOccurrences(of: "warmup_s = 3600.0", with: "warmup_s = 1800.0")
                .replacingOccurrences(of: "duration_s = 3600.0", with: "duration_s = 1800.0"))
        }
        let single = try run(1, "")
        #expect(single.replicas == 1 && single.receiptsRefused == 0 && single.replicaDisagreements == 0)
        let singleRate = try #require(single.badResultRate)
        #expect(singleRate > 0.1, "one replica: \(singleRate)")

        let independent = try run(3, "")
        let malicious = try #require(independent.figures(.malicious))
        #expect(independent.badResultRate == 0)
        #expect(malicious.wrongResultsGiven > 50)
        // Every wrong result is refused, and only honest replicas of unresolved jobs beside them.
        #expect(independent.receiptsRefused >= malicious.wrongResultsGiven - independent.resultsInFlight)
        #expect(independent.receiptsRefused <= malicious.wrongResultsGiven + 5 * independent.jobsUnresolved)
        #expect(independent.replicaDisagreements > 0)
        #expect(independent.constraintViolations == 0)
        // Three replicas of each job were run: about three times the single run's results.
        let given = { (report: LendingReport) in report.classes.reduce(0) { $0 + $1.resultsGiven } }
        #expect(Double(given(independent)) > 2.5 * Double(given(single)), "\(given(independent)) vs \(given(single))")

        let collective = try run(3, "malicious_agree = true")
        let collectiveRate = try #require(collective.badResultRate)
        #expect(collectiveRate > 0 && collectiveRate < singleRate, "collective: \(collectiveRate), one replica: \(singleRate)")
        #expect(collective.traceHash != independent.traceHash)
    }

    /// One seed reproduces a run bit for bit; another seed gives another run.
    @Test func sameSeedSameTrace() throws {
        let first = try Self.run(Self.scenario(seed: 5))
        let again = try Self.run(Self.scenario(seed: 5))
        let other = try Self.run(Self.scenario(seed: 6))
        #expect(first.traceHash == again.traceHash)
        #expect(first.classes == again.classes)
        #expect(first.events == again.events)
        #expect(first.traceHash != other.traceHash)
    }

    /// No assignment, batch or one by one, breaks a hard constraint of `spec/0016` §2 (a lender
    /// denies itself, so `denied` is exercised), exceeds an offer's room, or is refused by the
    /// lender's policy on arrival.
    @Test(arguments: ["batch", "each"])
    func assignmentsKeepLendersConstraints(mode: String) throws {
        let report = try Self.run(Self.scenario(mode: mode))
        #expect(report.assignments > 1000)
        #expect(report.constraintViolations == 0)
    }

    /// Work is conserved: what lenders computed is what borrowers received plus the results still
    /// travelling, per class and in total, and the receipts count exactly what was received.
    @Test func computeGivenEqualsComputeReceived() throws {
        let report = try Self.run(Self.scenario(extra: "newcomers = 0.1\nwhitewashers = 0.05"))
        let given = report.classes.reduce(0) { $0 + $1.computeGiven }
        let received = report.classes.reduce(0) { $0 + $1.computeReceived }
        #expect(abs(given - report.computeGiven) < 1e-6 * given)
        #expect(abs(received - report.computeReceived) < 1e-6 * received)
        #expect(abs(report.computeGiven - report.computeReceived - report.computeInFlight) < 1e-6 * given)
        #expect(abs(report.receiptCoreSeconds - report.computeReceived) < 1e-3 * Double(report.receipts))
        #expect(report.classes.first { $0.name == "free_riders" }?.computeGiven == 0)
        #expect(report.whitewashes > 0)
        // Without malicious peers there is no bad-result figure, not a zero.
        #expect(report.badResultRate == nil)
    }

    /// Bad `[lending]` input is refused with one line naming the key.
    @Test(arguments: [
        ("order = \"trust\"", "order = \"random\"", "lending.policy.order: must be one of trust, given, fifo, favors, potluck (got \"random\")"),
        ("lender_cores = 2", "lender_cores = 2\njob_cores = 4", "lending.job_cores: must be at most lender_cores (2)"),
        ("free_riders = 0.25", "free_riders = 0.8\nnewcomers = 0.5", "lending.classes.free_riders: free_riders + newcomers + whitewashers + sybils + malicious + spies must be at most 1"),
        ("free_riders = 0.25", "free_riders = 0.25\nmalicious = 0.8", "lending.classes.free_riders: free_riders + newcomers + whitewashers + sybils + malicious + spies must be at most 1"),
        ("free_riders = 0.25", "free_riders = 0.25\nmalicious_honesty = 1.5", "lending.classes.malicious_honesty: must be in 0.0…1.0 (got 1.5)"),
        ("mode = \"batch\"", "mode = \"batch\"\nspeed = 3", "lending.matching.speed: unknown key"),
        ("jobs_per_hour = 24.0", "jobs_per_hour = \"many\"", "lending.jobs_per_hour: must be a number, not a string"),
        ("[lending.policy]", "[lending.availability]\nwindow = \"25:00-26:00\"\n[lending.policy]",
         "lending.availability.window: '25:00-26:00' is not a daily window: use HH:MM-HH:MM, e.g. 22:00-07:00"),
    ])
    func badLendingInputIsRefused(replacing: String, with: String, message: String) {
        let text = Self.scenario().replacingOccurrences(of: replacing, with: with)
        #expect(throws: ScenarioError.self) { try Scenario(toml: text) }
        do {
            _ = try Scenario(toml: text)
        } catch {
            #expect(error.description == message)
        }
    }
}
