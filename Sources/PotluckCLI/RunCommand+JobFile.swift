import Crypto
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
        let first = planned[0].task
        let demand = JobDemand(runtime: Offer.nativeRuntime, tool: file.tool, cores: file.cores, memoryBytes: first.limits.memoryBytes,
                               coreSeconds: first.limits.coreSeconds, wallSeconds: first.limits.wallSeconds)
        let candidates = try findOffers(data, runtime: Offer.nativeRuntime, cores: 1, me: identity.publicKey)
        let (ranked, ruledOut, _) = rankOffers(candidates, for: demand, borrower: identity.publicKey)
        if explain || ranked.isEmpty {
            for (candidate, reason) in ruledOut { standardError("potluck: \(candidate.offer.lender.peerID.prefix(16))… ruled out: \(reason)") }
        }
        guard !ranked.isEmpty else {
            throw CLIError("no offer lends \(file.tool) for this job (\(candidates.count) native offer(s) found); ask a friend to run 'potluck offer set --tool \(file.tool)'")
        }
        standardError("potluck: \(planned.count) task(s) of \(file.tool) over \(ranked.count) lender(s)")
        let status = BatchStatus(total: planned.count, enabled: !json)
        let lenders = ranked.compactMap { candidate in
            (try? JobClient.Lender(offer: candidate.offer)).map { ($0, max(1, candidate.offer.cores / file.cores)) }
        }
        let result = try await withStores { receipts, jobs in
            await TaskBatch(planned: planned, tool: file.tool, cores: file.cores, status: status)
                .run(on: lenders, client: JobClient(identity: identity, receipts: receipts, jobs: jobs))
        }
        status.finish()
        let states = result.states
        var failed = 0
        for (index, state) in states.enumerated() {
            if case .failed(let reason) = state {
                failed += 1
                standardError("potluck: task \(index + 1) (\(planned[index].label)) failed: \(reason)")
            }
        }
        let sent = String(format: "%.1f MB", Double(result.sentInputBytes) / 1e6)
        standardError("potluck: \(states.count - failed) of \(states.count) task(s) done; \(sent) of inputs sent; outputs in \(file.directory)")
        guard failed == 0 else { throw ExitCode(1) }
        if let after = file.after { try runAfter(after, in: file.directory) }
    }

    private func runAfter(_ command: [String], in directory: String) throws {
        standardError("potluck: after the tasks: \(command.joined(separator: " "))")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        do { try process.run() } catch { throw CLIError("cannot run the [after] command \(command[0]): \(error.localizedDescription)") }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CLIError("the [after] command exited with \(process.terminationStatus)") }
    }

}
