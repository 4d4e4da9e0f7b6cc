import Bencode
import PotluckCrypto
import Foundation
import Kademlia
import NIOCore
import NIOPosix
import SeededRandom

/// Many DHT nodes on real loopback UDP sockets, each with its own socket and state machine,
/// all owned by one task: the "500-node loopback network" of the DHT tests and benchmarks.
///
/// Every node shares the address 127.0.0.1, so the per-address rate limit is lifted (on the
/// Internet each node has its own address).
public struct LoopbackSwarm: Sendable {
    public struct Report: Sendable {
        public var nodes: Int
        public var lookups = 0
        /// Lookups whose result was exactly the true k closest nodes (computed by brute force).
        public var exactLookups = 0
        /// The sum over lookups of the share of the true k closest they found (recall).
        public var recallSum = 0.0
        public var hops: [Int] = []
        public var lookupLatencies: [Duration] = []
        public var puts = 0, putsStored = 0, gets = 0, getsFound = 0
        /// Resident memory added per node (bytes), sockets and buffers included.
        public var bytesPerNode = 0
        public var setupDuration: Duration = .zero
        /// Queries that timed out and datagrams dropped, summed over all nodes.
        public var timeouts = 0, dropped = 0
        public var droppedByReason: [String: Int] = [:]
        /// Lookups that ended without a result, by the reason they gave.
        public var failedLookups: [String: Int] = [:]
    }

    public var nodes: Int
    public var lookups: Int
    public var items: Int
    public var concurrency = 16
    public var seed: UInt64
    /// The share of nodes killed once the swarm is built, before the lookups: they stop reading
    /// and sending (as a killed process would), and stay in everyone's routing tables until found
    /// out. Lookups start from live nodes and are scored against the live nodes only.
    public var killedFraction = 0.0
    /// Runs the lookup rules from before issue 19 (a fixed 1 s short timeout, slow peers hold up
    /// the end, no resends, no per-peer slow marks, no liveness checks), to compare with the
    /// node's defaults.
    public var classicRules = false

    public init(nodes: Int, lookups: Int, items: Int, seed: UInt64) {
        self.nodes = nodes
        self.lookups = lookups
        self.items = items
        self.seed = seed
    }

    /// Runs the swarm: its sockets on NIO's event loops, every node's state machine on one
    /// thread of its own, off Swift's cooperative pool. On two cores shared with a whole test
    /// suite, a task on that pool can wait seconds for a thread while a simulation holds both,
    /// and the replies it has not read yet would time out as if their senders were dead.
    public func run() async throws -> Report {
        let residentBefore = Self.residentBytes()
        let started = ContinuousClock.now
        let group = MultiThreadedEventLoopGroup.singleton
        let inbox = SwarmInbox()
        var channels: [any NIOCore.Channel] = []
        defer { for channel in channels { channel.close(promise: nil) } }
        for index in 0..<nodes {
            channels.append(try await UDPTransport.bootstrap(group: group, maxDatagramSize: 1500)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(SwarmInbound(index: index, inbox: inbox))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get())
        }
        let endpoints = channels.map { Endpoint($0.localAddress!)! }
        let bound = channels
        return try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                var driver = SwarmDriver(channels: bound, endpoints: endpoints, seed: seed, classic: classicRules)
                continuation.resume(with: Result {
                    var report = try driver.exercise(self, inbox: inbox)
                    report.setupDuration = driver.setupDuration ?? (ContinuousClock.now - started)
                    report.bytesPerNode = max(0, (driver.residentAfterSetup - residentBefore) / max(1, nodes))
                    report.timeouts = driver.nodes.map(\.status.counters.timeouts).reduce(0, +)
                    report.dropped = driver.nodes.map { $0.status.counters.dropped.values.reduce(0, +) }.reduce(0, +)
                    for node in driver.nodes { report.droppedByReason.merge(node.status.counters.dropped, uniquingKeysWith: +) }
                    return report
                })
            }
            thread.name = "loopback swarm"
            thread.start()
        }
    }

    /// The process's resident set size in bytes (Linux `/proc/self/statm`).
    public static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }
}

/// A datagram one swarm node's socket read.
struct SwarmEvent: Sendable {
    let index: Int
    let bytes: [UInt8]
    let source: Endpoint
}

/// The datagrams the event loops have read and the swarm's thread has not: a blocking queue.
final class SwarmInbox: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [SwarmEvent] = []
    private var head = 0

    func post(_ event: SwarmEvent) {
        condition.lock()
        queue.append(event)
        condition.signal()
        condition.unlock()
    }

    /// The oldest event, waiting for one until `deadline`; nil when none came by then.
    func next(before deadline: Date) -> SwarmEvent? {
        condition.lock()
        defer { condition.unlock() }
        while head == queue.count {
            if !condition.wait(until: deadline) && head == queue.count { return nil }
        }
        let event = queue[head]
        head += 1
        if head == queue.count { queue.removeAll(keepingCapacity: true); head = 0 }
        return event
    }
}

/// Reads one swarm node's socket on its event loop.
final class SwarmInbound: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let index: Int
    let inbox: SwarmInbox

    init(index: Int, inbox: SwarmInbox) {
        self.index = index
        self.inbox = inbox
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard let source = Endpoint(envelope.remoteAddress) else { return }
        inbox.post(SwarmEvent(index: index, bytes: Array(envelope.data.readableBytesView), source: source))
    }
}

/// The one thread that owns every node of a ``LoopbackSwarm``.
struct SwarmDriver {
    var nodes: [DHTNode] = []
    var owners: [Owner] = []
    let endpoints: [Endpoint]
    let clock = NodeClock()
    var random: SplitMix64
    var setupDuration: Duration?
    var residentAfterSetup = 0
    var nextRequest: RequestID = 1
    var done: [RequestID: DHTNode.Outcome] = [:]
    /// Killed nodes: their datagrams are dropped unread and their timers never fire.
    var killed: Set<Int> = []

    init(channels: [any NIOCore.Channel], endpoints: [Endpoint], seed: UInt64, classic: Bool) {
        self.endpoints = endpoints
        random = SplitMix64(seed: seed)
        var configuration = DHTNode.Configuration()
        configuration.raiseRateLimits()
        configuration.verifier = .ed25519
        if classic {
            configuration.lookup.slowHoldsTermination = true
            configuration.lookup.adaptiveShortTimeoutFloor = nil
            configuration.lookup.resendsToSlowPeers = false
            configuration.lookup.expectedRoundTripFactor = nil
            configuration.lookup.burstsWhenConverged = false
            configuration.lookup.overtakenFreeSlots = false
            configuration.lookup.alpha = 4
            configuration.livenessCheckInterval = nil
        }
        for (index, channel) in channels.enumerated() {
            nodes.append(DHTNode(id: NodeID.random(using: &random), configuration: configuration, seed: seed &+ UInt64(index), now: clock.now))
            owners.append(Owner(channels: [channel], bound: [endpoints[index]]))
        }
    }

    mutating func exercise(_ swarm: LoopbackSwarm, inbox: SwarmInbox) throws -> LoopbackSwarm.Report {
        var report = LoopbackSwarm.Report(nodes: swarm.nodes)
        let began = ContinuousClock.now
        // Join: each node bootstraps through node 0 and a random earlier node, a batch at a time.
        for batch in stride(from: 1, to: nodes.count, by: swarm.concurrency) {
            var requests: [RequestID] = []
            for index in batch..<min(nodes.count, batch + swarm.concurrency) {
                let through = [endpoints[0], endpoints[Int(random.next() % UInt64(index))]]
                requests.append(start(.bootstrap(through), on: index))
            }
            try wait(for: requests, inbox: inbox)
        }
        // A second round of lookups of their own ids fills the tables of early joiners.
        for batch in stride(from: 0, to: nodes.count, by: swarm.concurrency) {
            let requests = (batch..<min(nodes.count, batch + swarm.concurrency)).map { start(.findNode(nodes[$0].id), on: $0) }
            try wait(for: requests, inbox: inbox)
        }
        setupDuration = ContinuousClock.now - began
        residentAfterSetup = LoopbackSwarm.residentBytes()
        while Double(killed.count) < swarm.killedFraction * Double(nodes.count) {
            killed.insert(1 + Int(random.next() % UInt64(nodes.count - 1)))  // node 0 stays: the bootstrap
        }
        let live = nodes.indices.filter { !killed.contains($0) }

        for batch in stride(from: 0, to: swarm.lookups, by: swarm.concurrency) {
            var pending: [(RequestID, Int, NodeID, ContinuousClock.Instant)] = []
            for _ in batch..<min(swarm.lookups, batch + swarm.concurrency) {
                let origin = live[Int(random.next() % UInt64(live.count))], target = NodeID.random(using: &random)
                pending.append((start(.findNode(target), on: origin), origin, target, ContinuousClock.now))
            }
            try wait(for: pending.map(\.0), inbox: inbox)
            for (request, origin, target, _) in pending {
                guard case .nodes(let result)? = done[request] else {
                    if case .failed(let reason)? = done[request] { report.failedLookups[reason, default: 0] += 1 }
                    continue
                }
                report.lookups += 1
                report.hops.append(result.hops)
                report.lookupLatencies.append(result.duration)
                let truth = Set(live.map { nodes[$0].id }.filter { $0 != nodes[origin].id }.sorted { ($0 ^ target) < ($1 ^ target) }.prefix(8))
                if Set(result.closest.map(\.id)) == truth { report.exactLookups += 1 }
                report.recallSum += Double(truth.intersection(result.closest.map(\.id)).count) / Double(max(1, truth.count))
            }
        }
        for index in 0..<swarm.items {
            let item = ImmutableItem(encoding: .bytes(Array("swarm item \(index) \(random.next())".utf8)))
            let writer = live[Int(random.next() % UInt64(live.count))], reader = live[Int(random.next() % UInt64(live.count))]
            let put = start(.put(.immutable(item)), on: writer)
            try wait(for: [put], inbox: inbox)
            report.puts += 1
            if case .stored(_, let storedOn, _)? = done[put], storedOn > 0 { report.putsStored += 1 }
            let get = start(.get(item.target, salt: []), on: reader)
            try wait(for: [get], inbox: inbox)
            report.gets += 1
            if case .item(let found?, _, _)? = done[get], found == .immutable(item) { report.getsFound += 1 }
        }
        return report
    }

    private mutating func start(_ command: DHTNode.Command, on index: Int) -> RequestID {
        let request = nextRequest
        nextRequest += 1
        owners[index].perform(nodes[index].start(command, request: request, now: clock.now), persist: { _ in })
        collect(index)
        return request
    }

    /// Delivers datagrams and timers until every request in `requests` is done (bounded: 120 s).
    private mutating func wait(for requests: [RequestID], inbox: SwarmInbox) throws {
        let deadline = ContinuousClock.now + .seconds(120)
        var lastWake = clock.now
        while !requests.allSatisfy({ done[$0] != nil }) {
            guard ContinuousClock.now < deadline else { throw NodeError("the loopback swarm did not finish in 120 s") }
            // Wait at most 20 ms, so timers fire even when no datagram arrives.
            if let event = inbox.next(before: Date(timeIntervalSinceNow: 0.02)), !killed.contains(event.index) {
                owners[event.index].perform(nodes[event.index].receive(event.bytes, from: event.source, now: clock.now), persist: { _ in })
                collect(event.index)
            }
            let now = clock.now
            if now >= lastWake + .milliseconds(20) {
                lastWake = now
                for index in nodes.indices where !killed.contains(index) && nodes[index].nextWakeup <= now {
                    owners[index].perform(nodes[index].wake(now: now), persist: { _ in })
                    collect(index)
                }
            }
        }
    }

    private mutating func collect(_ index: Int) {
        for (request, outcome) in owners[index].unclaimed { done[request] = outcome }
        owners[index].unclaimed.removeAll()
    }
}
