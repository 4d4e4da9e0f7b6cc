import ControlAPI
import ArgumentParser
import PotluckCrypto
import Foundation
import Jobs
import Node
import Records
import Sandbox

/// `potluck offer set|show|withdraw|pause|resume`: the lender's offer, kept in
/// `DIR/config.toml` and published on the DHT by the running node.
struct OfferCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "offer", abstract: "Set, show, withdraw, pause or resume what this node lends.",
        subcommands: [Set.self, Show.self, Withdraw.self, Pause.self, Resume.self])

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record the lender's policy in DIR/config.toml and publish the offer.",
            discussion: "Options given replace the recorded ones; the others are kept.")
        @OptionGroup var data: DataDirectoryOptions
        @Option(help: "Cores lent.") var cores: Int?
        @Option(help: "Memory lent, e.g. 512MiB or 4GiB.") var memory: String?
        @Option(name: .customLong("runtime"), help: "A runtime offered, e.g. wasm32-wasi (repeatable).") var runtimes: [String] = []
        @Option(name: .customLong("tool"), help: ArgumentHelp("A program lent to native tasks, run under bubblewrap: a name on PATH, or NAME=/path (repeatable).", valueName: "NAME[=PATH]")) var tools: [String] = []
        @Flag(name: .customLong("no-tools"), help: "Lend no native tools.") var noTools = false
        @Option(name: .customLong("window"), help: "When, HH:MM-HH:MM in UTC (repeatable).") var windows: [String] = []
        @Flag(name: .customLong("idle-only"), inversion: .prefixedNo, help: "Lend only while the machine is idle (--no-idle-only: at any load).") var idleOnly: Bool?
        @Option(name: .customLong("allow"), help: "Only these peers may borrow (repeatable).") var allow: [String] = []
        @Option(name: .customLong("deny"), help: "These peers may not borrow (repeatable).") var deny: [String] = []
        @Option(name: .customLong("friend"), help: "Friends are served first (repeatable).") var friends: [String] = []
        @Option(help: "How long the published offer stays valid without a refresh, e.g. 1h.") var ttl: String?
        @Option(name: .customLong("max-jobs"), help: "At most this many jobs at once.") var maxJobs: Int?
        @Option(name: .customLong("max-wall"), help: "The longest one job may run, e.g. 30m.") var maxWall: String?
        @Option(name: .customLong("clear"), help: ArgumentHelp(
            "Empty a list before the options above add to it: allow, deny, friends, windows or tools (repeatable).", valueName: "LIST"))
        var clear: [String] = []

        static let clearable = ["allow", "deny", "friends", "windows", "tools"]

        func validate() throws {
            if let cores, cores < 1 { throw ValidationError("--cores must be 1 or more") }
            if let maxJobs, maxJobs < 1 { throw ValidationError("--max-jobs must be 1 or more") }
            for name in clear where !Self.clearable.contains(name) {
                throw ValidationError("--clear '\(name)' is not a list: use one of \(Self.clearable.joined(separator: ", "))")
            }
        }
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let path = LenderConfig.path(inDataDirectory: data.directory.path)
            var config = try nodeErrors { try LenderConfig.load(from: path) }
            if clear.contains("allow") { config.allow = [] }
            if clear.contains("deny") { config.deny = [] }
            if clear.contains("friends") { config.friends = [] }
            if clear.contains("windows") { config.windows = [] }
            if clear.contains("tools") || noTools { config.tools = [] }
            if let cores { config.cores = cores }
            if let memory { config.memory = memory }
            if !runtimes.isEmpty { config.runtimes = runtimes }
            if !tools.isEmpty { config.tools = tools }
            if !windows.isEmpty { config.windows = windows }
            if let idleOnly { config.idleOnly = idleOnly }
            if !allow.isEmpty { config.allow = allow }
            if !deny.isEmpty { config.deny = deny }
            if !friends.isEmpty { config.friends = friends }
            if let ttl { config.ttl = ttl }
            if let maxJobs { config.maxJobs = maxJobs }
            if let maxWall { config.maxWall = maxWall }
            let identity: SigningKey
            do { identity = try IdentityFile.load(from: data.directory.identityPath) } catch { throw CLIError(error.description) }
            try nodeErrors { try config.validate() }
            if !config.tools.isEmpty, let reason = await NativeRunner().unavailability() {
                throw CLIError("cannot lend native tools: \(reason)")
            }
            guard DataDirectoryLock.holder(ofDataDirectory: data.directory.path) != nil else {
                // No node runs: record the policy now; the node publishes it once it has peers.
                let offer = try nodeErrors { try config.offer(lender: identity.publicKey, endpoint: "tcp://127.0.0.1:\(NodeOptions.defaultPort)") }
                try nodeErrors { try config.save(to: path) }
                _ = FileManager.default.createFile(atPath: LenderConfig.pendingPath(inDataDirectory: data.directory.path), contents: nil)
                return try saved(offer, memory: config.memory, in: path, because: "no node is running, so 'potluck node' publishes it when it starts")
            }
            if LendingPause.isPaused(dataDirectory: data.directory.path) {
                let offer = try nodeErrors { try config.offer(lender: identity.publicKey, endpoint: "tcp://127.0.0.1:\(NodeOptions.defaultPort)") }
                try nodeErrors { try config.save(to: path) }
                return try saved(offer, memory: config.memory, in: path, because: "lending is paused (dashboard), so it is published when lending resumes")
            }
            // Borrowers reach the lender on its job channel (spec 0017 §1).
            guard let endpoint = try await callNode(data, .nodeInfo).jobs else {
                throw CLIError("the node does not serve jobs; restart it without --no-jobs to lend")
            }
            let offer = try nodeErrors { try config.offer(lender: identity.publicKey, endpoint: endpoint) }
            try nodeErrors { try config.save(to: path) }
            let encoded = Hex.encode(try offer.encoded())
            let result: OfferPublishResult
            do { result = try await ControlClient(dataDirectory: data.directory.path).call(.publishOffer(hex: encoded)) } catch {
                // Not on the network yet (no peer, or a relay's tunnel still to come): the node
                // publishes it once it reaches the network, as for an offer set while it was down.
                guard error.status == 503 else { throw CLIError(error.description) }
                _ = FileManager.default.createFile(atPath: LenderConfig.pendingPath(inDataDirectory: data.directory.path), contents: nil)
                return try saved(offer, memory: config.memory, in: path,
                                 because: "the node has not reached the network yet (\(error.description)); it publishes it once it does")
            }
            if json { return try printJSON(result) }
            let tools = offer.tools.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }
            print("offer published: \(offer.cores) core(s), \(config.memory), \((offer.runtimes + tools).joined(separator: ", ")); target \(result.target)")
        }

        /// The policy is recorded but not published now, for `reason`.
        private func saved(_ offer: Offer, memory: String, in path: String, because reason: String) throws {
            struct Saved: Encodable {
                let savedIn: String
                let published = false
                let reason: String
                let cores: Int
                let memory: String
                let runtimes: [String]
            }
            if json { return try printJSON(Saved(savedIn: path, reason: reason, cores: offer.cores, memory: memory, runtimes: offer.runtimes)) }
            print("offer saved in \(path): \(offer.cores) core(s), \(memory), \(offer.runtimes.joined(separator: ", ")); \(reason)")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the recorded policy (DIR/config.toml).")
        @OptionGroup var data: DataDirectoryOptions

        func run() async throws {
            let path = LenderConfig.path(inDataDirectory: data.directory.path)
            guard FileManager.default.fileExists(atPath: path) else { throw CLIError("no offer recorded in \(path): use 'potluck offer set'") }
            _ = try nodeErrors { try LenderConfig.load(from: path) }  // validates
            print(try String(contentsOfFile: path, encoding: .utf8), terminator: "")
        }
    }

    struct Withdraw: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Withdraw the published offer.")
        @OptionGroup var data: DataDirectoryOptions

        func run() async throws {
            let result = try await callNode(data, .withdrawOffer)
            print("offer withdrawn (seq \(result.seq))")
        }
    }

    /// The dashboard's switch, from a terminal (`spec/0019` §2.4).
    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop lending now: withdraw the offer, refuse new jobs, pause running ones.",
            discussion: "Paused jobs go on when lending resumes; if it stays paused for \(JobMessage.pauseLimit.components.seconds / 60) minutes, they are given back to their borrowers to run elsewhere. The switch outlives a restart.")
        @OptionGroup var data: DataDirectoryOptions

        func run() async throws {
            _ = try await callNode(data, .pauseLending(true))
            print("lending paused: the offer is withdrawn, new jobs are refused, running jobs are paused ('potluck offer resume' to go on)")
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lend again: publish the recorded offer, let paused jobs go on.")
        @OptionGroup var data: DataDirectoryOptions

        func run() async throws {
            let state = try await callNode(data, .pauseLending(false))
            print(state.published ? "lending resumed: the offer is published, paused jobs go on"
                                  : "lending resumed: paused jobs go on (no offer recorded: 'potluck offer set' to publish one)")
        }
    }
}

/// `potluck offers`: live offers found through the DHT.
struct OffersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "offers", abstract: "List live offers found through the DHT.")
    @OptionGroup var data: DataDirectoryOptions
    @Option(help: "The runtime wanted.") var runtime = "wasm32-wasi"
    @Option(help: "At least this many cores.") var cores: Int?
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let result = try await callNode(data, .offers(runtime: runtime, cores: cores ?? 0))
        if json { return try printJSON(result) }
        let offers = result.offers
        let short = ShortPeerIDs(offers.map(\.lender))
        for offer in offers {
            let latency = offer.estimatedRttMs.map { String(format: "  ~%.0f ms away", $0) } ?? ""
            let busy = offer.busySince.map { "  busy: its owner is using it since \(Date(timeIntervalSince1970: Double($0)).formatted(.iso8601))" } ?? ""
            print("\(short(offer.lender))  \(offer.cores) core(s)  \(offer.memoryBytes >> 20) MiB  at \(offer.endpoint)\(latency)\(busy)")
        }
        print("\(offers.count) offer(s) for \(runtime)")
    }
}

/// Runs `body`, turning a ``NodeError`` into the CLI's one-line error.
func nodeErrors<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as NodeError { throw CLIError(error.description) }
}
