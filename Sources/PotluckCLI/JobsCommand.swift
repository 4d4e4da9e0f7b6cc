import ControlAPI
import ArgumentParser
import PotluckCrypto
import Foundation
import Jobs
import Node
import Records
import Storage

/// `potluck jobs`: the detached jobs the node runs for its owner, and the jobs this node
/// borrowed compute for, newest last; `potluck jobs show ID` for one detached job.
struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs", abstract: "List detached jobs and the jobs this node ran on others' machines.",
        subcommands: [JobsListCommand.self, JobsShowCommand.self], defaultSubcommand: JobsListCommand.self)
}

struct JobsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List detached jobs and the jobs this node ran on others' machines.")
    @OptionGroup var data: DataDirectoryOptions
    @Flag(help: "Only the detached jobs (potluck run --detach), from the running node.") var detached = false
    @Flag(help: "Print JSON lines.") var json = false

    func run() async throws {
        // Detached jobs are the node's; without a node, only the records on disk are listed.
        let batches = (try? await callNode(data, .batches))?.jobs
        if detached {
            guard let batches else { throw CLIError("no node is running on \(data.directory.path); start it with 'potluck node'") }
            for record in batches { if json { try printJSON(record) } else { print(record.summary) } }
            if !json { print("\(batches.count) detached job(s)") }
            return
        }
        if !json, let batches, !batches.isEmpty {
            print("detached jobs (potluck jobs show ID):")
            for record in batches { print("  " + record.summary) }
        }
        let records = try withJobStore(data) { try $0.all() }.filter { $0.role == .borrowed }
        let short = ShortPeerIDs(records.map(\.peer.peerID))
        for record in records {
            if json { try printJSON(JobLine(record)) } else { print(JobLine(record).text(short)) }
        }
        if !json { print("\(records.count) job(s) borrowed") }
    }
}

/// `potluck status`: what ran on this machine, for whom, how long, with what result, and the
/// balance of compute given and received.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show what this node lent and borrowed, and its balance.")
    @OptionGroup var data: DataDirectoryOptions
    @Option(help: "How many past jobs to show.") var last = 20
    @Flag(help: "Print one JSON object.") var json = false

    struct Output: Encodable {
        let peer_id: String
        let node_running: Bool
        let running: [String]
        let lent: [JobLine]
        let given_core_seconds: Double
        let received_core_seconds: Double
        let receipts: Int
        let reachability: String?
        let lending_paused: Bool
    }

    func run() async throws {
        let me: PublicKey
        do { me = try IdentityFile.load(from: data.directory.identityPath).publicKey } catch { throw CLIError(error.description) }
        let records = try withJobStore(data) { try $0.all() }.filter { $0.role == .lent }
        let receipts = try withReceiptStore(data) { try $0.ledger() }.completeReceipts
        let given = receipts.filter { $0.body.provider == me }.reduce(0) { $0 + $1.body.coreMilliseconds }
        let received = receipts.filter { $0.body.consumer == me }.reduce(0) { $0 + $1.body.coreMilliseconds }
        let running = (try? await callNode(data, .runningJobs))?.running
        let shortBorrower = ShortPeerIDs((running ?? []).map(\.borrower))
        let runningLines = (running ?? []).map { job in "\(shortBorrower(job.borrower)) job \(job.job.prefix(16)) on \(job.cores) core(s)" }
        let lent = records.suffix(last).map(JobLine.init)
        let reachability = running == nil ? nil : (try? await callNode(data, .nodeInfo))?.reachability?.summary
        let paused = LendingPause.isPaused(dataDirectory: data.directory.path)
        if json {
            return try printJSON(Output(peer_id: me.peerID, node_running: running != nil, running: runningLines, lent: lent,
                                        given_core_seconds: Double(given) / 1000, received_core_seconds: Double(received) / 1000,
                                        receipts: receipts.count, reachability: reachability, lending_paused: paused))
        }
        print("peer \(me.peerID); node \(running == nil ? "not running" : "running")")
        if let reachability { print("network: \(reachability)") }
        if paused { print("lending: paused — no offer, new jobs refused, running ones wait ('potluck offer resume' to lend again)") }
        print("running now: \(runningLines.isEmpty ? "nothing" : "")")
        for line in runningLines { print("  \(line)") }
        print("lent (\(records.count) job(s), last \(lent.count) shown):")
        let short = ShortPeerIDs(lent.map(\.peer))
        for line in lent { print("  " + line.text(short)) }
        print(String(format: "balance: gave %.1f core-s, received %.1f core-s (%d receipt(s) signed by both)",
                     Double(given) / 1000, Double(received) / 1000, receipts.count))
    }
}

/// One job, for people and for `--json`.
struct JobLine: Encodable {
    let when: String
    let role: String
    let peer: String
    let job: String
    let cores: Int
    let seconds: Double
    let outcome: String
    let exit_code: Int32?
    let cpu_seconds: Double
    let receipt: String?

    init(_ record: JobRecord) {
        when = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(record.start) / 1000))
        role = record.role.rawValue
        peer = record.peer.peerID
        job = record.jobDigest.hex
        cores = record.cores
        seconds = Double(record.end - record.start) / 1000
        outcome = record.outcome
        exit_code = record.exitCode
        cpu_seconds = Double(record.coreMilliseconds) / 1000
        receipt = record.receipt?.hex
    }

    func text(_ short: ShortPeerIDs) -> String {
        let who = role == "lent" ? "for" : "on"
        return String(format: "%@  %@ %@  job %@  %d core(s)  %.1f s (cpu %.1f s)  %@  %@", when, who, short(peer), String(job.prefix(12)),
                      cores, seconds, cpu_seconds, outcome, receipt.map { "receipt \($0.prefix(12))" } ?? "no receipt")
    }
}

func withJobStore<T>(_ data: DataDirectoryOptions, _ body: (JobStore) throws -> T) throws -> T {
    try withEnvironment(data) { try body(try JobStore(environment: $0)) }
}
