import PotluckCrypto
import Foundation
import JobChannel
import Jobs
import Lending
import Records
import Sandbox
import SafeTOML
import TOMLKit

/// The lender's policy in `DIR/config.toml` (`[offer]`): written by `potluck offer set`, editable
/// by hand, validated with errors that name the key.
public struct LenderConfig: Equatable, Sendable {
    public var cores = 1
    public var memory = "1GiB"
    public var runtimes = ["wasm32-wasi"]
    /// Native tools lent: a name found on `PATH`, or `name=/path/to/program` (spec 0019 §1).
    public var tools: [String] = []
    public var windows: [String] = []
    public var idleOnly = false
    /// With `idle_only`: the share of the machine's cores other programs may keep busy while
    /// it still counts as idle (0…1; at 0 it never does).
    public var idleLoad = MachineLoad.idleShare
    public var allow: [String] = []
    public var deny: [String] = []
    public var friends: [String] = []
    public var ttl = "1h"
    /// At most this many jobs at once.
    public var maxJobs = 2
    /// The longest one job may run.
    public var maxWall = "1h"
    /// The longest a job may wait in the line while every slot is taken before it is refused
    /// `busy` (`spec/0017-jobs.md` §3.2), so its borrower tries another lender.
    public var queueWait = "1m"
    /// The most disk one native task may take on this machine: the inputs it brings and the
    /// files it writes, each (`spec/0019-native-jobs.md` §4).
    public var maxDisk = "10GiB"
    /// Job-channel connections open at once, in total and from one address (`spec/0015` §3.1).
    public var maxConnections = 256
    public var maxConnectionsPerAddress = 16
    /// Bytes of asked-for job payloads held at once (`spec/0017` §2.1).
    public var receiveBudget = "128MiB"
    public static let defaultReceiveBudget = 128 << 20
    /// How a busy lender orders its line (`spec/0022-line-rule.md`): `potluck`, `trust`,
    /// `given`, `favors` or `fifo`. Friends go first whatever it says.
    public var serve = LineRule.Order.potluck.rawValue
    /// Under `potluck`, the weight of what a borrower gave beside its floored net (0…1).
    public var gaveWeight = LineRule.defaultGaveWeight
    /// With `--relay`: the most bytes relayed in a day (circuits and tunnels together), the
    /// circuits at once, and the most one circuit may carry (`spec/0021` §5): a home's
    /// upload is its owner's.
    public var relayPerDay = "10GiB"
    public var relayCircuits = 32
    public var relayPerCircuit = "4GiB"

    public init() {}

    /// `DIR/config.toml`.
    public static func path(inDataDirectory directory: String) -> String { directory + "/config.toml" }
    /// `DIR/offer.pending`: present when the offer was set while no node ran; the node publishes
    /// it once it has peers, then removes the file (``OfferRefresher``).
    public static func pendingPath(inDataDirectory directory: String) -> String { directory + "/offer.pending" }

    /// Reads the file, or the defaults when there is none.
    public static func load(from path: String) throws(NodeError) -> LenderConfig {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return LenderConfig() }
        let table: TOMLTable
        do { table = try SafeTOML.parse(text) } catch { throw NodeError("\(path) is not valid TOML: \(error)") }
        guard let offer = table["offer"]?.table else { return LenderConfig() }
        var config = LenderConfig()
        for key in offer.keys {
            let value = offer[key]!
            func strings() throws(NodeError) -> [String] {
                guard let array = value.array, array.allSatisfy({ $0.string != nil }) else {
                    throw NodeError("\(path): offer.\(key) must be a list of strings")
                }
                return array.compactMap(\.string)
            }
            switch key {
            case "cores":
                guard let cores = value.int, (1...Offer.maxCores).contains(cores) else {
                    throw NodeError("\(path): offer.cores must be an integer from 1 to \(Offer.maxCores)")
                }
                config.cores = cores
            case "memory": config.memory = try Self.string(value, key, path)
            case "ttl": config.ttl = try Self.string(value, key, path)
            case "idle_only":
                guard let flag = value.bool else { throw NodeError("\(path): offer.idle_only must be true or false") }
                config.idleOnly = flag
            case "idle_load":
                guard let share = value.double ?? value.int.map(Double.init), (0...1).contains(share) else {
                    throw NodeError("\(path): offer.idle_load must be a number from 0 to 1 (the share of cores others may keep busy)")
                }
                config.idleLoad = share
            case "runtimes": config.runtimes = try strings()
            case "tools": config.tools = try strings()
            case "windows": config.windows = try strings()
            case "allow": config.allow = try strings()
            case "deny": config.deny = try strings()
            case "friends": config.friends = try strings()
            case "max_jobs":
                guard let count = value.int, (1...1024).contains(count) else {
                    throw NodeError("\(path): offer.max_jobs must be an integer from 1 to 1024")
                }
                config.maxJobs = count
            case "max_wall": config.maxWall = try Self.string(value, key, path)
            case "max_disk":
                config.maxDisk = try Self.string(value, key, path)
                guard let bytes = Quantities.bytes(config.maxDisk), bytes >= 1 << 20 else {
                    throw NodeError("\(path): offer.max_disk must be a size of at least 1MiB, such as 10GiB")
                }
            case "queue_wait":
                config.queueWait = try Self.string(value, key, path)
                guard let wait = Quantities.duration(config.queueWait), wait > .zero, wait <= .seconds(86_400) else {
                    throw NodeError("\(path): offer.queue_wait must be a duration from 1s to 24h, such as 1m")
                }
            case "max_connections":
                guard let count = value.int, (1...100_000).contains(count) else {
                    throw NodeError("\(path): offer.max_connections must be an integer from 1 to 100000")
                }
                config.maxConnections = count
            case "max_connections_per_address":
                guard let count = value.int, (1...100_000).contains(count) else {
                    throw NodeError("\(path): offer.max_connections_per_address must be an integer from 1 to 100000")
                }
                config.maxConnectionsPerAddress = count
            case "receive_budget":
                config.receiveBudget = try Self.string(value, key, path)
                guard let bytes = Quantities.bytes(config.receiveBudget), bytes >= 1 << 20 else {
                    throw NodeError("\(path): offer.receive_budget must be a size of at least 1MiB, such as 128MiB")
                }
            case "serve":
                config.serve = try Self.string(value, key, path)
                guard LineRule.Order(rawValue: config.serve) != nil else {
                    throw NodeError("\(path): offer.serve must be one of \(LineRule.Order.allCases.map(\.rawValue).joined(separator: ", "))")
                }
            case "gave_weight":
                guard let weight = value.double ?? value.int.map(Double.init), (0...1).contains(weight) else {
                    throw NodeError("\(path): offer.gave_weight must be a number from 0 to 1")
                }
                config.gaveWeight = weight
            case "relay_per_day", "relay_per_circuit":
                let text = try Self.string(value, key, path)
                guard let bytes = Quantities.bytes(text), bytes >= 1 << 20 else {
                    throw NodeError("\(path): offer.\(key) must be a size of at least 1MiB, such as 10GiB")
                }
                if key == "relay_per_day" { config.relayPerDay = text } else { config.relayPerCircuit = text }
                _ = bytes
            case "relay_circuits":
                guard let count = value.int, count >= 1 else { throw NodeError("\(path): offer.relay_circuits must be a whole number of at least 1") }
                config.relayCircuits = count
            default: throw NodeError("\(path): unknown key offer.\(key) (known: cores, memory, runtimes, tools, windows, idle_only, idle_load, allow, deny, friends, ttl, max_jobs, max_wall, queue_wait, max_disk, max_connections, max_connections_per_address, receive_budget, serve, gave_weight, relay_per_day, relay_circuits, relay_per_circuit)")
            }
        }
        return config
    }

    private static func string(_ value: any TOMLValueConvertible, _ key: String, _ path: String) throws(NodeError) -> String {
        guard let text = value.string else { throw NodeError("\(path): offer.\(key) must be a string") }
        return text
    }

    /// Writes the policy as TOML through TOMLKit (quotes and backslashes in paths escaped),
    /// keys in alphabetical order, under a comment saying who writes it.
    public func save(to path: String) throws(NodeError) {
        let offer = TOMLTable()
        offer["cores"] = cores
        offer["memory"] = memory
        offer["runtimes"] = TOMLArray(runtimes)
        offer["tools"] = TOMLArray(tools)
        offer["windows"] = TOMLArray(windows)
        offer["idle_only"] = idleOnly
        offer["idle_load"] = idleLoad
        offer["allow"] = TOMLArray(allow)
        offer["deny"] = TOMLArray(deny)
        offer["friends"] = TOMLArray(friends)
        offer["ttl"] = ttl
        offer["max_jobs"] = maxJobs
        offer["max_wall"] = maxWall
        offer["queue_wait"] = queueWait
        offer["max_disk"] = maxDisk
        offer["max_connections"] = maxConnections
        offer["max_connections_per_address"] = maxConnectionsPerAddress
        offer["receive_budget"] = receiveBudget
        offer["serve"] = serve
        offer["gave_weight"] = gaveWeight
        offer["relay_per_day"] = relayPerDay
        offer["relay_circuits"] = relayCircuits
        offer["relay_per_circuit"] = relayPerCircuit
        let root = TOMLTable()
        root["offer"] = offer
        let text = "# Potluck lender policy: `potluck offer set` writes it; you may edit it by hand.\n" + root.convert(to: .toml) + "\n"
        do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw NodeError("cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// The runtimes a Potluck node can run: WebAssembly, and native tools (spec 0019).
    public static let knownRuntimes = ["wasm32-wasi", Offer.nativeRuntime]

    /// What `potluck offer set` and the dashboard check before recording a policy: this machine
    /// can lend it, and it reads as a policy.
    public func validate() throws(NodeError) {
        try checkAgainstMachine()
        _ = try policy()
    }

    /// Checks what cannot be checked from the file alone: the cores and memory lent against this
    /// machine's, and the runtimes against what a node runs. `potluck offer set` calls it.
    public func checkAgainstMachine(cores machineCores: Int = ProcessInfo.processInfo.activeProcessorCount,
                                    memoryBytes machineMemory: UInt64 = ProcessInfo.processInfo.physicalMemory) throws(NodeError) {
        guard cores <= machineCores else {
            throw NodeError("this machine has \(machineCores) core(s); lend at most \(machineCores) (--cores)")
        }
        if let bytes = Quantities.bytes(memory), UInt64(bytes) > machineMemory {
            throw NodeError("this machine has \(machineMemory >> 20) MiB of memory; lend at most that (--memory)")
        }
        for runtime in runtimes where !Self.knownRuntimes.contains(runtime) {
            throw NodeError("unknown runtime '\(runtime)': a Potluck node runs wasm32-wasi, and native tools lent with --tool")
        }
    }

    private static func peers(_ texts: [String], _ key: String) throws(NodeError) -> [PublicKey] {
        var keys: [PublicKey] = []
        for text in texts {
            do { keys.append(try PublicKey(peerID: text)) } catch { throw NodeError("offer.\(key): \(error.message)") }
        }
        return keys
    }

    /// The runtimes lent: those listed, plus `native` when tools are lent.
    public var allRuntimes: [String] {
        tools.isEmpty || runtimes.contains(Offer.nativeRuntime) ? runtimes : runtimes + [Offer.nativeRuntime]
    }

    /// The published name of a tool spec (`convert`, or `convert=/usr/bin/convert`).
    static func toolName(_ spec: String) -> String { spec.split(separator: "=", maxSplits: 1).first.map(String.init) ?? spec }

    /// Each lent tool found on this machine with its version; the error names a missing one.
    public func lentTools(askVersion: Bool = true) throws(NodeError) -> [LentTool] {
        var found: [LentTool] = []
        for spec in tools {
            do { found.append(try LentTool.find(spec, askVersion: askVersion)) } catch { throw NodeError("offer.tools: \(error.message)") }
        }
        return found
    }

    /// What job-channel connections may cost this lender (`spec/0015` §3.1, `spec/0017` §2.1).
    public var channelLimits: (limits: JobChannelServer.Limits, receiveBudget: Int) {
        var limits = JobChannelServer.Limits()
        limits.connections = maxConnections
        limits.connectionsPerAddress = maxConnectionsPerAddress
        return (limits, Quantities.bytes(receiveBudget).map { Int(clamping: $0) } ?? Self.defaultReceiveBudget)
    }

    /// What relaying may cost this node (`spec/0021` §5), on top of `base` (the node's defaults).
    public func relayLimits(_ base: RelayServer.Limits = RelayServer.Limits()) -> RelayServer.Limits {
        var limits = base
        limits.circuits = relayCircuits
        limits.bytesPerCircuit = Quantities.bytes(relayPerCircuit) ?? limits.bytesPerCircuit
        limits.bytesPerDay = Quantities.bytes(relayPerDay) ?? limits.bytesPerDay
        return limits
    }

    /// ``queueWait`` as a duration (one minute if it is not one: `load` refuses such a file).
    public var queueWaitDuration: Duration {
        Quantities.duration(queueWait).flatMap { $0 > .zero ? $0 : nil } ?? .seconds(60)
    }

    /// ``maxDisk`` in bytes (10 GiB if it is not a size: `load` refuses such a file).
    public var maxDiskBytes: Int64 { Quantities.bytes(maxDisk) ?? Int64(10) << 30 }

    /// The rule a busy lender orders its line by (`spec/0022-line-rule.md`).
    public var lineRule: LineRule { LineRule(order: LineRule.Order(rawValue: serve) ?? .potluck, gaveWeight: gaveWeight) }

    /// The full policy the node enforces on every job (`spec/0017-jobs.md` §3).
    public func policy() throws(NodeError) -> LenderPolicy {
        guard let memoryBytes = Quantities.bytes(memory) else { throw NodeError("memory '\(memory)' is not a size: use e.g. 512MiB or 4GiB") }
        guard let wall = Quantities.duration(maxWall), wall > .zero else { throw NodeError("max_wall '\(maxWall)' is not a duration: use e.g. 10m or 1h") }
        var parsedWindows: [TimeWindow] = []
        for text in windows {
            guard let window = TimeWindow(text) else { throw NodeError("window '\(text)' is not HH:MM-HH:MM (UTC)") }
            parsedWindows.append(window)
        }
        return LenderPolicy(
            cores: cores, memoryBytes: memoryBytes, runtimes: Set(allRuntimes), tools: Set(tools.map(Self.toolName)), windows: parsedWindows, idleOnly: idleOnly,
            allowed: Set(try Self.peers(allow, "allow")), denied: Set(try Self.peers(deny, "deny")),
            friends: Set(try Self.peers(friends, "friends")), maxJobs: maxJobs,
            maxWallSeconds: Double(wall.components.seconds))
    }

    /// The offer this policy describes, for `lender` reachable at `endpoint`, expiring `ttl` from now.
    /// The offer this configuration publishes; `busySince` for an idle-only lender whose machine
    /// is busy (`spec/0011-records.md` §2.2).
    public func offer(lender: PublicKey, endpoint: String, busySince: Int64? = nil, now: Date = Date()) throws(NodeError) -> Offer {
        guard let memoryBytes = Quantities.bytes(memory) else { throw NodeError("memory '\(memory)' is not a size: use e.g. 512MiB or 4GiB") }
        guard let lifetime = Quantities.duration(ttl), lifetime > .zero else { throw NodeError("ttl '\(ttl)' is not a duration: use e.g. 30m or 1h") }
        var parsedWindows: [TimeWindow] = []
        for text in windows {
            guard let window = TimeWindow(text) else { throw NodeError("window '\(text)' is not HH:MM-HH:MM (UTC)") }
            parsedWindows.append(window)
        }
        let policy = OfferPolicy(allowed: try Self.peers(allow, "allow"), denied: try Self.peers(deny, "deny"), friendCount: friends.count)
        _ = try Self.peers(friends, "friends")
        let expiry = Int64(now.timeIntervalSince1970) + max(1, lifetime.components.seconds)
        var published: [String: String] = [:]
        for tool in try lentTools() { published[tool.name] = String(tool.version.utf8.prefix(Offer.maxToolVersionLength)) ?? tool.name }
        let offer = Offer(lender: lender, cores: cores, memoryBytes: memoryBytes, runtimes: allRuntimes, tools: published, windows: parsedWindows,
                          idleOnly: idleOnly, busySince: idleOnly ? busySince : nil, policy: policy, endpoint: endpoint, expiry: expiry)
        do { try offer.validate() } catch { throw NodeError("the offer is not valid: \(error)") }
        return offer
    }
}
