import ArgumentParser
import PotluckCrypto
import Foundation
import Jobs
import Matching
import Node
import Records
import Trust

/// `potluck match`: which live offer this node would borrow from, and why
/// (`spec/0016-matching.md`). It lists offers like `potluck offers`, weighs each lender by this
/// node's trust in it (flow-based, from the local receipts, like `potluck trust`) and ranks them
/// with ``Matcher/rank(_:_:)``.
struct MatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "match", abstract: "Pick the live offer that would serve a job best, and explain the choice.",
        discussion: """
            Offers are ruled out by hard constraints (runtime, cores, memory, time window, the lender's \
            allow and deny lists, idle state); the rest are scored by estimated latency, completion \
            time and trust both ways (spec/0016-matching.md). --explain lists every candidate.
            """)

    @OptionGroup var data: DataDirectoryOptions
    @Option(help: "The runtime the job needs.") var runtime = "wasm32-wasi"
    @Option(help: "Cores the job uses.") var cores = 1
    @Option(help: "Memory the job needs, e.g. 512MiB or 4GiB.") var memory = "0"
    @Option(help: "Estimated work, in core-seconds.") var work = 60.0
    @Option(name: .customLong("max-latency"), help: "Rule out offers farther than this many milliseconds.") var maxLatency: Double?
    @Flag(help: "List every candidate with its rule-out reason or score components.") var explain = false
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        guard cores >= 1 else { throw CLIError("--cores must be at least 1") }
        guard let memoryBytes = Quantities.bytes(memory) else { throw CLIError("'\(memory)' is not a size: use e.g. 512MiB or 4GiB") }
        guard work.isFinite, work >= 0 else { throw CLIError("--work must be a non-negative number of core-seconds") }
        let borrower: PublicKey
        do { borrower = try IdentityFile.load(from: data.directory.identityPath).publicKey } catch { throw CLIError(error.description) }
        // The same candidates as `potluck run`: never this node's own offer (it cannot borrow from itself).
        let candidates = try await Self.candidates(data, runtime: runtime, me: borrower)
        try report(candidates, memoryBytes: memoryBytes, borrower: borrower)
    }

    /// The live offers, fetched in a function of their own: Swift 6.3 gave `run`'s async frame
    /// too little room for this call once `Offer` grew a field (AddressSanitizer: a write past
    /// the task allocator's slab; a debug build aborted with "double free or corruption").
    @inline(never)
    private static func candidates(_ data: DataDirectoryOptions, runtime: String, me: PublicKey) async throws -> [OfferCandidate] {
        try await findOffers(data, runtime: runtime, cores: 1, me: me)
    }

    private func report(_ candidates: [OfferCandidate], memoryBytes: Int64, borrower: PublicKey) throws {
        let demand = JobDemand(runtime: runtime, cores: cores, memoryBytes: memoryBytes, coreSeconds: work, wallSeconds: work)
        let ranked = rankOffers(candidates, for: demand, borrower: borrower, maxLatencyMs: maxLatency,
                                avoided: try withAvoidedLenders(data) { try $0.all() }).evaluations
        let chosen = ranked.first { $0.components != nil }
        if json {
            return try printJSON(MatchOutput(runtime: runtime, chosen: chosen.map { .init($0, candidates) },
                                             candidates: explain ? ranked.map { .init($0, candidates) } : nil))
        }
        if explain {
            for evaluation in ranked { print(Self.line(evaluation, candidates)) }
        }
        guard let chosen else {
            throw CLIError("no offer fits: \(candidates.count) offer(s) for \(runtime) found, every one ruled out (see --explain)")
        }
        print("chosen: \(Self.line(chosen, candidates))")
    }

    static func line(_ evaluation: Evaluation, _ candidates: [OfferCandidate]) -> String {
        let offer = evaluation.offer
        let short = ShortPeerIDs(candidates.map(\.offer.lender.peerID))
        let head = "\(short(offer.lender.peerID))  \(offer.cores) core(s)  \(offer.memoryBytes >> 20) MiB  at \(offer.endpoint)"
        guard let c = evaluation.components else { return "\(head)  ruled out: \(evaluation.ruleOut?.description ?? "?")" }
        let trust = candidates[evaluation.candidateIndex].trust
        return head + String(format: "  score %.1f: latency %.0f ms (%@), compute %.1f s, transfer %.2f s, wait %.1f s, risk %.1f s, trust %.2f",
                             c.score, c.latencyMs, c.latencySource.rawValue, c.computeSeconds, c.transferSeconds,
                             c.waitSeconds, c.riskSeconds, trust)
    }
}

struct MatchOutput: Encodable {
    struct Candidate: Encodable {
        let lender, endpoint: String
        let cores: Int
        let memory_bytes: Int64
        let ruled_out: String?
        let score, latency_ms, compute_seconds, transfer_seconds, wait_seconds, risk_seconds, trust_in_lender: Double?
        let latency_source: String?

        init(_ evaluation: Evaluation, _ candidates: [OfferCandidate]) {
            lender = evaluation.offer.lender.peerID
            endpoint = evaluation.offer.endpoint
            cores = evaluation.offer.cores
            memory_bytes = evaluation.offer.memoryBytes
            ruled_out = evaluation.ruleOut?.rawValue
            let c = evaluation.components
            score = c?.score
            latency_ms = c?.latencyMs
            latency_source = c?.latencySource.rawValue
            compute_seconds = c?.computeSeconds
            transfer_seconds = c?.transferSeconds
            wait_seconds = c?.waitSeconds
            risk_seconds = c?.riskSeconds
            trust_in_lender = c == nil ? nil : candidates[evaluation.candidateIndex].trust
        }
    }

    let runtime: String
    let chosen: Candidate?
    let candidates: [Candidate]?
}
