import ControlAPI
import ArgumentParser
import PotluckCrypto
import Foundation
import JobChannel
import Jobs
import Matching
import Node
import Records
import Sandbox
import Storage

/// `potluck run JOB.wasm … -- ARGS`: borrows compute. Finds offers through the running node,
/// picks the ones that fit, sends the job over the encrypted job channel, shows a progress line,
/// prints the guest's stdout, writes its output files and exits with its exit code.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a WebAssembly job, or a job file's tasks, on lenders' machines.",
        discussion: """
            The job is a wasm32-wasi module. Its stdout is printed, its stderr streamed to stderr, and \
            the files it writes in its working directory are saved in --output-dir. Exits with the job's \
            exit code. With --replicas K the job runs on K lenders and their results are compared.

            A job file (JOB.toml, spec 0019) names a lent tool, a command template, inputs and \
            how the work splits into tasks; its tasks run across every lender of that tool and \
            their outputs land beside the job file; with --replicas K each task runs on K lenders \
            and the outputs most of them gave are kept. See examples/photos and examples/render.
            """)

    @OptionGroup var data: DataDirectoryOptions
    @Argument(help: "The job: a wasm32-wasi module, or a job file (.toml).") var job: String
    @Option(help: "Cores to reserve.") var cores = 1
    @Option(help: "Memory cap, e.g. 256MiB.") var memory = "256MiB"
    @Option(help: "Wall-clock limit, e.g. 30s or 5m.") var timeout = "60s"
    @Option(help: "CPU budget, e.g. 30s (default: the timeout times the cores).") var cpu: String?
    @Option(help: "Cap on stdout, stderr and output files together, e.g. 16MiB.") var maxOutput = "16MiB"
    @Option(name: .customLong("input"), help: ArgumentHelp("A file the job may read, in its working directory (repeatable).", valueName: "FILE"))
    var inputs: [String] = []
    @Option(help: ArgumentHelp("A file to use as the job's stdin.", valueName: "FILE")) var stdin: String?
    @Option(help: "Run on this many lenders and compare their results.") var replicas = 1
    @Option(help: ArgumentHelp("Where to write the job's output files.", valueName: "DIR")) var outputDir = "."
    @Option(help: ArgumentHelp("Send the job to this lender (peer id); its own policy decides.", valueName: "PEER")) var lender: String?
    @Flag(help: "List every offer considered and why it was or was not chosen.") var explain = false
    @Flag(help: "Print one JSON object with the outcome instead of the job's stdout.") var json = false
    @Flag(help: "Hand a job file to the running node and return: it prints the job's id ('potluck jobs show ID').") var detach = false
    @Argument(parsing: .postTerminator, help: "Arguments for the job, after --.") var arguments: [String] = []

    func validate() throws {
        guard (1...4096).contains(cores) else { throw ValidationError("--cores must be between 1 and 4096") }
        guard (1...16).contains(replicas) else { throw ValidationError("--replicas must be between 1 and 16") }
        guard Quantities.bytes(memory) != nil else { throw ValidationError("--memory '\(memory)' is not a size: use e.g. 512MiB") }
        guard Quantities.bytes(maxOutput) != nil else { throw ValidationError("--max-output '\(maxOutput)' is not a size: use e.g. 16MiB") }
        guard let wall = Quantities.duration(timeout), wall > .zero else { throw ValidationError("--timeout '\(timeout)' is not a duration: use e.g. 30s or 5m") }
        if let cpu { guard let budget = Quantities.duration(cpu), budget > .zero else { throw ValidationError("--cpu '\(cpu)' is not a duration: use e.g. 30s") } }
    }

    func run() async throws {
        if detach {
            guard job.hasSuffix(".toml") else { throw CLIError("--detach runs job files (.toml); a wasm job runs attached") }
            _ = try nodeErrors { try JobFile.load(job).tasks() }  // a mistake is one line here, before the node is asked
            let record = try await callNode(data, .submitBatch(path: job, replicas: replicas))
            if json { return try printJSON(record) }
            print(record.id)
            return standardError("potluck: job \(record.id): \(record.tasks.count) task(s) of \(record.tool), run by the node; follow it with 'potluck jobs show \(record.id)'")
        }
        if job.hasSuffix(".toml") { return try await runJobFile() }
        let identity: SigningKey
        do { identity = try IdentityFile.load(from: data.directory.identityPath) } catch { throw CLIError(error.description) }
        let guest = try makeJob()
        let demand = JobDemand(cores: cores, memoryBytes: guest.limits.memoryBytes, coreSeconds: guest.limits.coreSeconds,
                               wallSeconds: guest.limits.wallSeconds)
        let candidates = try await findOffers(data, runtime: demand.runtime, cores: 1, me: identity.publicKey)
        var (ranked, ruledOut, evaluations) = rankOffers(candidates, for: demand, borrower: identity.publicKey,
                                                         avoided: try withAvoidedLenders(data) { try $0.all() })
        if let lender {
            // Asked by name: the job goes to that lender even if its offer seems not to fit, and
            // the lender's own policy decides (its refusal says why).
            let key = try parsePeer(lender)
            ranked = candidates.filter { $0.offer.lender == key }
            ruledOut = []
            evaluations = []
            guard !ranked.isEmpty else { throw CLIError("no live offer from \(lender) (\(candidates.count) offer(s) found); check 'potluck offers'") }
        }
        if explain {
            for evaluation in evaluations { standardError("  " + MatchCommand.line(evaluation, candidates)) }
        }
        guard !ranked.isEmpty else {
            throw CLIError("no offer fits this job (\(candidates.count) found, \(ruledOut.count) ruled out); try --explain, fewer --cores or less --memory")
        }
        let results = try await withStores { receipts, jobs in
            try await runReplicas(guest, on: ranked, client: JobClient(identity: identity, receipts: receipts, jobs: jobs))
        }
        try leaveAlone(results.failures.compactMap { lender, failure in
            if case .refused(let refusal) = failure, refusal.code == .notIdle { lender } else { nil }
        })
        if case .decided(let winners, let outvoted)? = results.verdict, !outvoted.isEmpty {
            try avoid(outvoted, because: "its result of job \(guest.digest.hex.prefix(16)) differed from the one \(winners.count) of "
                      + "\(winners.count + outvoted.count) replicas gave")
        }
        try report(results, job: guest)
    }

    /// The job as the sandbox takes it, from the module, inputs and limits on the command line.
    func makeJob() throws -> GuestJob {
        guard let module = FileManager.default.contents(atPath: job) else { throw CLIError("cannot read the job '\(job)': no such file") }
        var files: [String: [UInt8]] = [:]
        for path in inputs {
            guard let bytes = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read the input '\(path)'") }
            files[(path as NSString).lastPathComponent] = Array(bytes)
        }
        var input: [UInt8] = []
        if let stdin {
            guard let bytes = FileManager.default.contents(atPath: stdin) else { throw CLIError("cannot read the stdin file '\(stdin)'") }
            input = Array(bytes)
        }
        let wall = Double(Quantities.duration(timeout)!.components.seconds) + Double(Quantities.duration(timeout)!.components.attoseconds) / 1e18
        let budget = cpu.flatMap(Quantities.duration).map { Double($0.components.seconds) } ?? wall * Double(cores)
        let limits = JobLimits(coreSeconds: budget, memoryBytes: Quantities.bytes(memory)!, wallSeconds: wall,
                               outputBytes: Int(Quantities.bytes(maxOutput)!))
        let guest = GuestJob(module: Array(module), arguments: arguments, stdin: input, inputFiles: files, limits: limits)
        do { try guest.validate() } catch { throw CLIError("the job is not valid: \(error)") }
        return guest
    }

    /// Runs the job on `replicas` lenders, best offers first; a lender that refuses is replaced
    /// by the next offer, and the results are voted on (`spec/0019-native-jobs.md` §6.2).
    func runReplicas(_ guest: GuestJob, on ranked: [OfferCandidate], client: JobClient) async throws -> ReplicaRun.Result {
        let progress = ProgressLine(enabled: !json)
        var lenders: [JobClient.Lender] = []
        for candidate in ranked {
            do { lenders.append(try JobClient.Lender(offer: candidate.offer)) } catch { progress.note("\(error)") }
        }
        let result = await ReplicaRun(job: .wasm(guest), cores: cores, replicas: replicas)
            .run(on: lenders, client: client, events: { progress.handle($1, from: $0) }, failed: { _, failure in progress.note("\(failure)") })
        progress.finish()
        guard !result.completions.isEmpty else { throw CLIError(result.failures.last.map { "\($0.failure)" } ?? "no lender ran the job") }
        return result
    }

    func report(_ result: ReplicaRun.Result, job guest: GuestJob) throws {
        let completions = result.completions
        let first = result.chosen ?? completions[0]
        let digests = Set(completions.map(\.resultDigest))
        try FileManager.default.createDirectory(atPath: outputDir, withIntermediateDirectories: true)
        for (name, bytes) in first.outcome.outputFiles {
            let path = outputDir + "/" + name
            guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { throw CLIError("cannot write \(path)") }
        }
        var outvoted: [PublicKey] = []
        if case .decided(_, let minority)? = result.verdict { outvoted = minority }
        if json {
            try printJSON(RunOutput(job: guest.digest.hex, completions: completions, agreed: digests.count == 1, outvoted: Set(outvoted)))
        } else {
            FileHandle.standardOutput.write(Data(first.outcome.stdout))
            for completion in completions {
                let receipt = (try? completion.receipt.get()).map { "receipt \($0.id.hex.prefix(16)) signed by both" }
                    ?? "no receipt (\(completion.receipt.failureDescription))"
                standardError("potluck: ran on \(completion.lender.key.peerID), reached \(completion.path): \(completion.outcome.summary); \(receipt)")
            }
            for name in first.outcome.outputFiles.keys.sorted() { standardError("potluck: wrote \(outputDir)/\(name)") }
        }
        if completions.count > 1 {
            if digests.count > 1 {
                guard !outvoted.isEmpty else {
                    standardError("potluck: replicas DISAGREE: \(digests.count) different results from \(completions.count) lenders and none has a majority; no receipt was countersigned")
                    throw ExitCode(3)
                }
                standardError("potluck: replicas disagree: \(completions.count - outvoted.count) of \(completions.count) gave the result kept; "
                              + "outvoted, receipt refused: " + outvoted.map(\.peerID).joined(separator: ", "))
            } else {
                standardError("potluck: \(completions.count) replicas agree (result \(first.resultDigest.hex.prefix(16)))")
            }
        }
        if completions.count < replicas {
            // Asked to check the result against other lenders and could not: not a success.
            throw CLIError("only \(completions.count) of \(replicas) replicas ran, so the result was not checked against another lender; "
                           + "the output is kept (try again when more lenders offer, or without --replicas)")
        }
        let status = first.outcome.exitCode
        if status != 0 { throw ExitCode(status) }
    }

    /// Sends no more work to `lenders` (`spec/0019-native-jobs.md` §6.3), and says so.
    func avoid(_ lenders: some Collection<PublicKey>, because reason: String) throws {
        guard !lenders.isEmpty else { return }
        try withAvoidedLenders(data) { store in for lender in lenders { try store.add(lender, reason: reason) } }
        standardError("potluck: from now on you avoid \(names(lenders)) ('potluck avoid' lists them, 'potluck avoid forget PEER' undoes it)")
    }

    /// Leaves `lenders`, whose owners came back (they refused `not-idle`), alone for
    /// ``JobRefusal/ownerBackMemory`` (§6.3), and says so.
    func leaveAlone(_ lenders: some Collection<PublicKey>) throws {
        guard !lenders.isEmpty else { return }
        try withAvoidedLenders(data) { store in
            for lender in lenders { try store.add(lender, reason: AvoidedLenders.ownerBack, for: JobRefusal.ownerBackMemory) }
        }
        standardError("potluck: the owner of \(names(lenders)) came back to the machine; no work goes there for the next "
                      + "\(JobRefusal.ownerBackMemory.components.seconds / 60) minutes ('potluck avoid' lists them)")
    }

    private func names(_ lenders: some Collection<PublicKey>) -> String {
        lenders.map { String($0.peerID.prefix(16)) + "…" }.sorted().joined(separator: ", ")
    }

    func withStores<T>(_ body: (ReceiptStore, JobStore) async throws -> T) async throws -> T {
        let environment: Environment
        do { environment = try Environment(path: data.directory.databasePath) } catch {
            throw CLIError("cannot open the database in \(data.directory.databasePath): \(error)")
        }
        defer { environment.close() }
        return try await body(try ReceiptStore(environment: environment), try JobStore(environment: environment))
    }
}

extension Result where Failure == JobClient.ReceiptProblem {
    var failureDescription: String {
        if case .failure(let problem) = self { return problem.description }
        return ""
    }
}

/// `potluck run --json`: the outcome on each lender.
struct RunOutput: Encodable {
    struct Replica: Encodable {
        let lender: String
        let outcome: String
        let exit_code: Int32
        let cpu_ms: Int64
        let wall_ms: Int64
        let result: String
        /// Its result lost the vote of replicas: its receipt was refused.
        let outvoted: Bool
        let receipt: String?
        /// `direct`, `relayed` or `punched` (spec 0021), and the relay's endpoint if any.
        let path: String
        let relay: String?
        let stdout: String
    }

    let job: String
    let replicas: [Replica]
    let agreed: Bool

    init(job: String, completions: [JobClient.Completion], agreed: Bool, outvoted: Set<PublicKey> = []) {
        self.job = job
        self.agreed = agreed
        replicas = completions.map { completion in
            Replica(lender: completion.lender.key.peerID, outcome: completion.outcome.summary, exit_code: completion.outcome.exitCode,
                    cpu_ms: completion.outcome.cpuMilliseconds, wall_ms: completion.outcome.wallMilliseconds,
                    result: completion.resultDigest.hex, outvoted: outvoted.contains(completion.lender.key), receipt: (try? completion.receipt.get())?.id.hex,
                    path: completion.path.kind, relay: completion.path.relay, stdout: String(decoding: completion.outcome.stdout, as: UTF8.self))
        }
    }
}
