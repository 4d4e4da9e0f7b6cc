import PotluckCrypto
import Records
import Sandbox

/// One job run on `replicas` distinct lenders and judged by vote, as a job file's tasks are
/// (`spec/0019-native-jobs.md` §6.2; `potluck run JOB.wasm --replicas K`): lenders are tried
/// best first, one that fails is replaced by the next, a tie asks one more; the majority's
/// receipts are countersigned and the others refused `outvoted`. With no lender left the vote
/// is over the replicas that ran.
public struct ReplicaRun: Sendable {
    public let job: Submission
    public let cores: Int
    public let replicas: Int
    /// How long a replica's receipt waits for the others before it is held (`TaskBatch.holdLimit`).
    public var holdLimit: Duration = .seconds(20)

    public init(job: Submission, cores: Int, replicas: Int) {
        self.job = job
        self.cores = cores
        self.replicas = replicas
    }

    /// What came of the run.
    public struct Result: Sendable {
        /// Every replica that returned a result, in the order they returned.
        public var completions: [JobClient.Completion]
        /// The lenders that could not run it, and why.
        public var failures: [(lender: PublicKey, failure: JobClient.Failure)]
        /// The vote, once taken.
        public var verdict: TaskBoard.Verdict?

        /// The completion whose result won, else the first.
        public var chosen: JobClient.Completion? {
            if case .decided(let winners, _)? = verdict, let winner = completions.first(where: { $0.lender.key == winners[0] }) { return winner }
            return completions.first
        }
    }

    /// Runs the job on `lenders` (best first); `events` hears each lender's progress, `failed`
    /// each lender that could not run it.
    public func run(on lenders: [JobClient.Lender], client: JobClient,
                    events: @escaping @Sendable (PublicKey, JobClient.Event) -> Void = { _, _ in },
                    failed: (PublicKey, JobClient.Failure) -> Void = { _, _ in }) async -> Result {
        // Every lender may be tried: the run ends when the vote is taken or none is left.
        let board = SharedBoard(TaskBoard(count: 1, replicas: replicas, maxFailures: .max))
        var result = Result(completions: [], failures: [])
        var next = 0, active = 0
        // A replica that ended, or a result that left the vote pending (a tie wants one more
        // replica while the others wait for the vote, so their ends cannot be waited for).
        let (changes, change) = AsyncStream.makeStream(of: Outcome?.self)
        await withTaskGroup(of: Void.self) { group in
            // Starts a replica on the next lenders while one is wanted; none left: settle.
            func launch() {
                while board.withLock({ $0.queuedCount }) > 0 {
                    guard next < lenders.count else { return board.settle(0, client: client) }
                    let lender = lenders[next]
                    next += 1
                    guard board.withLock({ $0.take(for: lender.key) }) != nil else { continue }
                    active += 1
                    group.addTask { change.yield(await replica(on: lender, board: board, client: client, events: events, pending: { change.yield(nil) })) }
                }
            }
            launch()
            var iterator = changes.makeAsyncIterator()
            while active > 0, let outcome = await iterator.next() {
                switch outcome {
                case .ran(let completion)?:
                    active -= 1
                    result.completions.append(completion)
                case .failed(let lender, let failure)?:
                    active -= 1
                    result.failures.append((lender, failure))
                    failed(lender, failure)
                case nil: break
                }
                launch()
            }
        }
        result.verdict = board.decision(of: 0)
        // A held proposal the vote favoured was countersigned in the ledger since.
        for index in result.completions.indices {
            guard let held = result.completions[index].heldProposal,
                  result.verdict?.judgement(for: held.body.provider) == .countersign else { continue }
            result.completions[index].receipt = .success(held.signed(by: client.identity))
        }
        return result
    }

    private enum Outcome: Sendable {
        case ran(JobClient.Completion)
        case failed(PublicKey, JobClient.Failure)
    }

    private func replica(on lender: JobClient.Lender, board: SharedBoard, client: JobClient,
                         events: @escaping @Sendable (PublicKey, JobClient.Event) -> Void,
                         pending: @escaping @Sendable () -> Void) async -> Outcome {
        // The result counts in the vote; the answer to the receipt waits for it.
        @Sendable func judge(_ completion: JobClient.Completion) async -> JobClient.Judgement {
            let verdict = board.finish(0, on: lender.key, completion, digest: completion.resultDigest, failure: nil)
            if verdict == .pending { pending() }
            return await board.answer(0, for: lender.key, after: verdict, client: client, within: holdLimit)
        }
        do {
            let completion = try await client.run(job, cores: cores, on: lender, events: { events(lender.key, $0) }, judge: judge)
            // A module no lender can load comes back with no receipt to judge; it still votes.
            if case .invalidModule = completion.outcome.termination { _ = await judge(completion) }
            if let proposal = completion.heldProposal { board.held(proposal, of: 0, from: lender.key, client: client) }
            return .ran(completion)
        } catch {
            board.lenderFailed(0, on: lender.key, reason: error.description)
            return .failed(lender.key, error)
        }
    }
}
