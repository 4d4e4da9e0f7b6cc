// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Lending
import Foundation

/// The figures of a lending run (`spec/0018-lending-simulation.md` §5), as a table for people
/// or one JSON object (snake_case keys, sorted).
public struct LendingReport: Sendable, Codable {
    /// One class of peers.
    public struct ClassFigures: Sendable, Codable, Hashable {
        public var name: String
        public var peers: Int
        public var jobsSubmitted: Int
        public var jobsStarted: Int
        public var jobsCompleted: Int
        public var unserved: Int
        public var unservedRate: Double
        public var refusals: Int
        public var waitSecondsP50: Double
        public var waitSecondsP90: Double
        public var waitSecondsMean: Double
        /// The lenders' mean trust in the class at admission, and the share of admissions where
        /// it was not 0 (the lender knew the borrower through the graph); trust policy only.
        public var trustMean: Double
        public var trustKnownRate: Double
        /// Core-seconds its borrowers received and its lenders gave (the whole run).
        public var computeReceived: Double
        public var computeGiven: Double
        /// Results its lenders returned and how many were wrong (the whole run); of its
        /// completed jobs, how many came back wrong (`spec/0018` §2.5).
        public var resultsGiven: Int
        public var wrongResultsGiven: Int
        public var wrongResultsReceived: Int
    }

    public var scenario: String
    public var seed: UInt64
    public var traceHash: String
    public var nodes: Int
    public var order: String
    public var matching: String
    public var starterGrant: Double
    public var decayHalfLifeS: Double?
    public var simulatedSeconds: Double
    public var events: UInt64
    public var classes: [ClassFigures]
    public var jobsCompleted: Int
    public var lenderUtilization: Double
    public var computeGiven: Double
    public var computeReceived: Double
    public var receiptCoreSeconds: Double
    public var resultsInFlight: Int
    /// Core-seconds of those results.
    public var computeInFlight: Double
    public var assignments: Int
    public var constraintViolations: Int
    public var matchTicks: Int
    public var assignmentFallbacks: Int
    public var auctionBids: Int
    public var trustSnapshots: Int
    public var receipts: Int
    /// The view peers rank from (`trust.view`); under `node`, borrowers gathered by lenders and
    /// snapshots made of peers' ledgers.
    public var trustView = ""
    public var gatherings = 0
    public var ledgerSnapshots = 0
    /// Jobs refused because the lender's window closed or its owner came back (`[lending.availability]`).
    public var unavailableRefusals = 0
    /// Idle-only offers published again because their machine turned busy or idle (`offer_says_busy`).
    public var busySignals = 0
    /// Jobs paused while their lender's owner used the machine, and given back (`pause_while_busy`).
    public var pauses = 0
    public var givenBack = 0
    /// Core-seconds guests ran on machines whose owner was using them (measured window).
    public var guestCoreSecondsBesideOwner = 0.0
    /// With friend circles (§2.8): measured jobs started at a friend's lender and their share
    /// of the started ones; for borrowers in a circle and the others, the mean wait (s) of their
    /// started jobs and the share of their jobs never started.
    public var friendStarts = 0
    public var friendStartShare: Double?
    public var circledMeanWait: Double?
    public var uncircledMeanWait: Double?
    public var circledUnserved: Double?
    public var uncircledUnserved: Double?
    public var whitewashes: Int
    /// Share of the completed jobs of honest peers (neither malicious nor spies) whose result was wrong;
    /// `nil` without malicious peers (`spec/0018` §2.5).
    public var badResultRate: Double?
    /// Lenders each job ran on (§2.6); comparisons without a majority, jobs of the window left
    /// unresolved, replicas whose receipt was not countersigned.
    public var replicas: Int
    public var replicaDisagreements: Int
    public var jobsUnresolved: Int
    public var receiptsRefused: Int
    // From the CLI.
    public var wallSeconds: Double?
    public var peakMemoryBytes: Int?
    public var expectations: [SimulationReport.CheckedExpectation]
    public var passed: Bool { expectations.allSatisfy { $0.ok || !$0.checked } }

    /// A class's figures by name, if it has any peers.
    public func figures(_ peerClass: PeerClass) -> ClassFigures? {
        classes.first { $0.name == peerClass.name && $0.peers > 0 }
    }

    /// The value of a metric by its JSON name (``Scenario/lendingExpectableMetrics``).
    public func value(of metric: String) -> Double? {
        let contributors = figures(.contributor), riders = figures(.freeRider)
        switch metric {
        case "contributors_wait_s_p50": return contributors?.waitSecondsP50
        case "contributors_wait_s_p90": return contributors?.waitSecondsP90
        case "free_riders_wait_s_p50": return riders?.waitSecondsP50
        case "free_riders_wait_s_p90": return riders?.waitSecondsP90
        case "newcomers_wait_s_p50": return figures(.newcomer)?.waitSecondsP50
        case "whitewashers_wait_s_p50": return figures(.whitewasher)?.waitSecondsP50
        case "free_riders_unserved_rate": return riders?.unservedRate
        case "contributors_unserved_rate": return contributors?.unservedRate
        case "free_riders_wait_ratio":
            guard let riders, let contributors else { return nil }
            return riders.waitSecondsMean / max(contributors.waitSecondsMean, 1e-9)
        case "lender_utilization": return lenderUtilization
        case "jobs_completed": return Double(jobsCompleted)
        case "bad_result_rate": return badResultRate
        default: return nil
        }
    }

    public mutating func check(_ scenario: Scenario) {
        expectations = scenario.expected.map {
            SimulationReport.CheckedExpectation($0, value: self.value(of: $0.metric) ?? .nan, scenario: scenario)
        }
    }

    /// JSON, keys sorted, snake_case.
    public func json() throws -> String { try ReportJSON.encode(self, passed: passed) }

    /// A summary table for people: the run, then one row per class.
    public var table: String {
        var rows: [(String, String)] = [
            ("scenario", scenario), ("seed", "\(seed)"), ("trace hash", traceHash), ("nodes", "\(nodes)"),
            ("policy", "order \(order), matching \(matching), starter grant \(format(starterGrant, 0)) core-s, "
                + "decay \(decayHalfLifeS.map { format($0, 0) + " s" } ?? "none")"),
            ("simulated time", "\(format(simulatedSeconds, 1)) s"), ("events", "\(events)"),
            ("jobs completed", "\(jobsCompleted)"),
            ("lender utilization", "\(format(lenderUtilization * 100, 1)) %"),
            ("compute given / received", "\(format(computeGiven, 0)) / \(format(computeReceived, 0)) core-s "
                + "(\(resultsInFlight) results in flight)"),
            ("assignments / violations", "\(assignments) / \(constraintViolations)"),
            ("match ticks / fallbacks", "\(matchTicks) / \(assignmentFallbacks)"),
            ("receipts / trust snapshots", "\(receipts) / \(trustSnapshots)"),
            ("trust view", trustView + (trustView == "node" ? ": \(gatherings) borrowers gathered, \(ledgerSnapshots) ledger snapshots" : "")),
        ]
        if whitewashes > 0 { rows.append(("whitewashes", "\(whitewashes)")) }
        if unavailableRefusals > 0 { rows.append(("refused: lender unavailable", "\(unavailableRefusals) (window closed or owner back)")) }
        if busySignals > 0 { rows.append(("offers saying busy / idle again", "\(busySignals) republished")) }
        if pauses > 0 { rows.append(("jobs paused for an owner / given back", "\(pauses) / \(givenBack)")) }
        if guestCoreSecondsBesideOwner > 0 || pauses > 0 {
            rows.append(("guests beside their machine's owner", "\(Int(guestCoreSecondsBesideOwner.rounded())) core-s"))
        }
        if let friendStartShare {
            rows.append(("served by a friend", String(format: "%d started jobs (%.1f %%)", friendStarts, 100 * friendStartShare)))
        }
        for (name, wait, unserved) in [("borrowers with friends", circledMeanWait, circledUnserved),
                                       ("borrowers without", uncircledMeanWait, uncircledUnserved)] {
            guard let wait, let unserved else { continue }
            rows.append((name, String(format: "mean wait %.0f s, %.1f %% unserved", wait, 100 * unserved)))
        }
        if let badResultRate {
            let wrong = PeerClass.allCases.filter { !$0.attacks }.compactMap { figures($0) }.reduce(0) { $0 + $1.wrongResultsReceived }
            rows.append(("bad results", "\(format(badResultRate * 100, 2)) % of honest peers' jobs (\(wrong) wrong results)"))
        }
        if replicas > 1 {
            rows.append(("replicas", "\(replicas) a job: \(replicaDisagreements) comparisons without a majority, "
                + "\(jobsUnresolved) jobs unresolved, \(receiptsRefused) receipts refused"))
        }
        if let wallSeconds { rows.append(("wall time", "\(format(wallSeconds, 2)) s")) }
        if let peakMemoryBytes { rows.append(("peak memory", "\(peakMemoryBytes / (1 << 20)) MiB")) }
        rows += expectations.map(\.row)
        let width = rows.map(\.0.count).max() ?? 0
        var text = rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }
            .joined(separator: "\n")
        let header = ["class", "peers", "jobs", "unserved", "refusals", "wait p50 s", "wait p90 s", "mean wait s",
                      "trust (known)", "received", "given"]
        var lines = [header]
        for c in classes where c.peers > 0 {
            lines.append([c.name, "\(c.peers)", "\(c.jobsSubmitted)", "\(c.unserved) (\(format(c.unservedRate * 100, 1)) %)",
                          "\(c.refusals)", format(c.waitSecondsP50, 1), format(c.waitSecondsP90, 1), format(c.waitSecondsMean, 1),
                          "\(format(c.trustMean, 3)) (\(format(c.trustKnownRate * 100, 0)) %)",
                          format(c.computeReceived, 0), format(c.computeGiven, 0)])
        }
        let widths = header.indices.map { column in lines.map { $0[column].count }.max() ?? 0 }
        text += "\n\n" + lines.map { line in
            line.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }.joined(separator: "\n")
        return text
    }
}

extension LendingSimulation {
    /// The report of the run so far.
    public func report() -> LendingReport {
        let classes = PeerClass.allCases.map { peerClass in
            let m = metrics.classes[Int(peerClass.rawValue)]
            let waits = m.waits.sorted()
            return LendingReport.ClassFigures(
                name: peerClass.name, peers: m.peers, jobsSubmitted: m.submitted, jobsStarted: m.started,
                jobsCompleted: m.completed, unserved: m.unserved,
                unservedRate: m.submitted == 0 ? 0 : Double(m.unserved) / Double(m.submitted), refusals: m.refusals,
                waitSecondsP50: percentile(waits, 50), waitSecondsP90: percentile(waits, 90),
                waitSecondsMean: waits.isEmpty ? 0 : waits.reduce(0, +) / Double(waits.count),
                trustMean: m.trustAsked == 0 ? 0 : m.trustSum / Double(m.trustAsked),
                trustKnownRate: m.trustAsked == 0 ? 0 : Double(m.trustKnown) / Double(m.trustAsked),
                computeReceived: m.received, computeGiven: m.given, resultsGiven: m.resultsGiven,
                wrongResultsGiven: m.wrongResultsGiven, wrongResultsReceived: m.wrongResultsReceived)
        }
        let honest = PeerClass.allCases.filter { !$0.attacks }.map { metrics.classes[Int($0.rawValue)] }
        let honestCompleted = honest.reduce(0) { $0 + $1.completed }
        let badResultRate: Double? = metrics.classes[Int(PeerClass.malicious.rawValue)].peers == 0 || honestCompleted == 0 ? nil
            : Double(honest.reduce(0) { $0 + $1.wrongResultsReceived }) / Double(honestCompleted)
        var report = LendingReport(
            scenario: scenario.name, seed: scenario.seed, traceHash: trace.description, nodes: scenario.platform.nodes,
            order: lending.order.rawValue, matching: lending.matching.rawValue, starterGrant: lending.starterGrant,
            decayHalfLifeS: lending.decayHalfLife, simulatedSeconds: Double(now) / 1e9, events: eventsProcessed,
            classes: classes, jobsCompleted: metrics.classes.reduce(0) { $0 + $1.completed },
            lenderUtilization: metrics.capacityCoreSeconds == 0 ? 0 : metrics.busyCoreSeconds / metrics.capacityCoreSeconds,
            computeGiven: metrics.computeGiven, computeReceived: metrics.computeReceived,
            receiptCoreSeconds: metrics.receiptCoreSeconds, resultsInFlight: metrics.resultsInFlight,
            computeInFlight: metrics.resultsInFlightCoreSeconds,
            assignments: metrics.assignments, constraintViolations: metrics.constraintViolations,
            matchTicks: metrics.matchTicks, assignmentFallbacks: metrics.assignmentFallbacks,
            auctionBids: metrics.auctionBids, trustSnapshots: metrics.trustSnapshots, receipts: metrics.receipts,
            whitewashes: metrics.whitewashes, badResultRate: badResultRate, replicas: lending.replicas,
            replicaDisagreements: metrics.replicaDisagreements, jobsUnresolved: metrics.jobsUnresolved,
            receiptsRefused: metrics.receiptsRefused, expectations: [])
        report.trustView = lending.view.rawValue
        report.gatherings = metrics.gatherings
        report.ledgerSnapshots = metrics.ledgerSnapshots
        report.unavailableRefusals = metrics.unavailableRefusals
        report.busySignals = metrics.busySignals
        report.pauses = metrics.pauses
        report.givenBack = metrics.givenBack
        report.guestCoreSecondsBesideOwner = metrics.guestCoreSecondsBesideOwner
        if lending.friendCircle > 0 {
            let (circled, uncircled) = (metrics.circled, metrics.uncircled)
            report.friendStarts = metrics.friendStarts
            report.friendStartShare = circled.started + uncircled.started > 0
                ? Double(metrics.friendStarts) / Double(circled.started + uncircled.started) : nil
            func mean(_ group: LendingMetrics.Group) -> Double? { group.started > 0 ? group.waitSum / Double(group.started) : nil }
            func unserved(_ group: LendingMetrics.Group) -> Double? {
                group.submitted > 0 ? Double(group.submitted - group.started) / Double(group.submitted) : nil
            }
            (report.circledMeanWait, report.uncircledMeanWait) = (mean(circled), mean(uncircled))
            (report.circledUnserved, report.uncircledUnserved) = (unserved(circled), unserved(uncircled))
        }
        report.check(scenario)
        return report
    }
}
