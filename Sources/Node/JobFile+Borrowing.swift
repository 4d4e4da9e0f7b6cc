import Foundation
import Jobs
import Records
import Sandbox

/// What a borrower does with a job file besides planning its tasks, the same attached
/// (`potluck run JOB.toml`) and detached (``DetachedJobs``): what to ask the matcher for, how
/// many tasks each lender gets at once, and the `[after]` step (`spec/0019-native-jobs.md` §6).
extension JobFile {
    /// The matcher's request: the tool, the cores of a task and the limits of the first.
    public func demand(_ planned: [PlannedTask]) -> JobDemand {
        let limits = planned.first?.task.limits
        return JobDemand(runtime: Offer.nativeRuntime, tool: tool, cores: cores, memoryBytes: limits?.memoryBytes ?? memoryBytes,
                         coreSeconds: limits?.coreSeconds ?? 0, wallSeconds: limits?.wallSeconds ?? 0)
    }

    /// Each ranked offer's lender with its slots: `max(1, offered cores ÷ task cores)`.
    public func lenders(_ ranked: [OfferCandidate]) -> [(JobClient.Lender, Int)] {
        ranked.compactMap { candidate in
            (try? JobClient.Lender(offer: candidate.offer)).map { ($0, max(1, candidate.offer.cores / cores)) }
        }
    }

    /// Runs `[after]` in the job's directory, its output to this process's (`showingOutput`) or
    /// nowhere; why it failed, or `nil`. Waits without holding a thread: an ffmpeg encode may take
    /// minutes, and a node's tasks share a pool of as many threads as cores.
    public func runAfter(showingOutput: Bool) async -> String? {
        guard let command = after else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        if !showingOutput {
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
        }
        let status: Int32? = await withCheckedContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch {
                process.terminationHandler = nil
                continuation.resume(returning: nil)
            }
        }
        guard let status else { return "cannot run \(command[0])" }
        return status == 0 ? nil : "\(command[0]) exited with \(status)"
    }
}
