import PotluckCrypto
import ArgumentParser
import Foundation
import Jobs
import Node
import Records
import Sandbox
import Synchronization

/// `potluck run JOB.toml`: a job file's tasks fanned out over every lender that lends its
/// tool, as many at once per lender as its offered cores allow; a task whose lender fails runs
/// elsewhere; outputs are saved as they arrive (`spec/0019-native-jobs.md` §6).
extension RunCommand {
    func runJobFile() async throws {
        let file = try nodeErrors { try JobFile.load(job) }
        let planned = try nodeErrors { try file.tasks() }
        let identity: SigningKey
        do { identity = try IdentityFile.load(from: data.directory.identityPath) } catch { throw CLIError(error.description) }
        let demand = file.demand(planned)
        let candidates = try await findOffers(data, runtime: Offer.nativeRuntime, cores: 1, me: identity.publicKey)
        let (ranked, ruledOut, _) = rankOffers(candidates, for: demand, borrower: identity.publicKey,
                                               avoided: try withAvoidedLenders(data) { try $0.all() })
        if explain || ranked.count < replicas {
            for (candidate, reason) in ruledOut { standardError("potluck: \(candidate.offer.lender.peerID.prefix(16))… ruled out: \(reason)") }
        }
        guard !ranked.isEmpty else {
            throw CLIError("no offer lends \(file.tool) for this job (\(candidates.count) native offer(s) found); ask a friend to run 'potluck offer set --tool \(file.tool)'")
        }
        guard ranked.count >= replicas else {
            throw CLIError("--replicas \(replicas) needs \(replicas) lenders of \(file.tool) and \(ranked.count) can run this job; ask more friends to lend it, or lower --replicas")
        }
        standardError("potluck: \(planned.count) task(s) of \(file.tool) over \(ranked.count) lender(s)" + (replicas > 1 ? ", each on \(replicas) of them" : ""))
        let status = BatchStatus(total: planned.count, enabled: !json)
        let lenders = file.lenders(ranked)
        let result = try await withStores { receipts, jobs in
            await TaskBatch(planned: planned, tool: file.tool, cores: file.cores, status: status, replicas: replicas)
                .run(on: lenders, client: JobClient(identity: identity, receipts: receipts, jobs: jobs))
        }
        status.finish()
        try leaveAlone(result.ownerBack)
        if result.shortOfReplicas > 0 {
            standardError("potluck: \(result.shortOfReplicas) task(s) decided by fewer than \(replicas) replicas: no lender was left for the others")
        }
        if result.disagreements > 0 {
            let outvoted = result.outvoted.map { String($0.peerID.prefix(16)) + "…" }.sorted()
            standardError("potluck: replicas disagreed on \(result.disagreements) task(s)"
                          + (outvoted.isEmpty ? "" : "; outvoted, their receipts refused and no more tasks sent to them: " + outvoted.joined(separator: ", ")))
            try avoid(result.outvoted, because: AvoidedLenders.outvoted(tool: file.tool, job: job, replicas: replicas))
        }
        let states = result.states
        var failed = 0
        for (index, state) in states.enumerated() {
            if case .failed(let reason) = state {
                failed += 1
                standardError("potluck: task \(index + 1) (\(planned[index].label)) failed: \(reason)")
            }
        }
        let sent = String(format: "%.1f MB", Double(result.sentInputBytes) / 1e6)
        let received = String(format: "%.1f MB", Double(result.receivedOutputBytes) / 1e6)
        standardError("potluck: \(states.count - failed) of \(states.count) task(s) done; \(sent) of inputs sent, \(received) of outputs received; outputs in \(file.directory)")
        guard failed == 0 else { throw ExitCode(1) }
        if let after = file.after {
            standardError("potluck: after the tasks: \(after.joined(separator: " "))")
            if let failure = await file.runAfter(showingOutput: true) { throw CLIError("the [after] command failed: \(failure)") }
        }
    }
}
