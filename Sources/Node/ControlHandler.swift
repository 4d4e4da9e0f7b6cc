import Bencode
import ControlAPI
import Foundation
import JobChannel
import Synchronization
import PotluckCrypto
import Kademlia
import Lending
import Reachability

/// The node's answers to the control API (`spec/0008-control-api.md`): each endpoint turns into
/// state-machine commands sent to the owner task, and their outcomes into the API's `Codable`
/// answers. The HTTP layer (``ControlServer``) only routes and encodes.
public struct ControlHandler: Sendable {
    let service: DHTService
    let events: Mailbox<DHTService.Event>
    let bound: [Endpoint]

    // MARK: Node

    public func info() async -> NodeInfo {
        var info = NodeInfo(peerID: service.identity.publicKey.peerID, nodeID: await inspect { $0.id.hex } ?? "",
                            listen: bound.map(\.description))
        info.jobs = service.jobs.withLock { $0?.endpoint }
        info.jobsAdvertised = service.advertisedJobsEndpoint()
        info.reachability = service.reachability.withLock { $0 }.map(Self.reachabilityInfo)
        let bootstrap = service.bootstrapping.withLock { $0 }
        if !bootstrap.isEmpty {
            info.bootstrap = bootstrap.map { host in
                BootstrapStatus(host: host.text, endpoints: host.endpoints.map(\.description), attempts: host.attempts,
                              state: host.problem.map { "not joined: \($0)" } ?? "joined")
            }
        }
        if let channel = service.jobServer.withLock({ $0?.statistics }) {
            info.jobChannel = JobChannelCounters(open: channel.open, established: channel.established, failedHandshakes: channel.failedHandshakes,
                                                 refused: channel.refusedConnections, evicted: channel.evictedConnections)
        }
        info.http = service.httpAddress.withLock { $0 }
        return info
    }

    public func status() async throws(APIError) -> DHTStatus {
        guard let status = await inspect({ Self.dhtStatus($0.status, contacts: $0.routingContacts) }) else { throw Self.busy }
        return status
    }

    /// The jobs running on this machine now, for `potluck status`.
    public func runningJobs() async -> RunningJobs {
        guard let jobService = service.jobs.withLock({ $0?.service }) else { return RunningJobs(running: []) }
        return RunningJobs(running: await jobService.desk.runningJobs.map { job in
            RunningJobs.Job(borrower: job.borrower.peerID, job: job.jobDigest.hex, cores: job.cores, started: Double(job.startedAt.components.seconds) + Double(job.startedAt.components.attoseconds) / 1e18)
        })
    }

    /// `/metrics`: the Prometheus text format (spec 0008 §5).
    public func metrics() async -> [UInt8] {
        let status = await inspect { $0.status }
        let receipts = try? ReceiptStore(environment: service.persistence.environment).all().count
        return service.metricsScrape.render(status: status, receipts: receipts)
    }

    // MARK: DHT

    public func ping(_ request: PingRequest) async throws(APIError) -> PingResult {
        guard let endpoint = Endpoint(request.endpoint) else {
            throw .badRequest("'\(request.endpoint)' is not a valid endpoint: expected HOST:PORT or [HOST]:PORT")
        }
        switch await run(.ping(endpoint)) {
        case .pong(let id, let roundTrip, let key): return PingResult(nodeID: id.hex, rttMs: Self.milliseconds(roundTrip), peerID: key?.peerID)
        case let other: throw Self.failure(other)
        }
    }

    public func lookup(_ request: LookupRequest) async throws(APIError) -> LookupAnswer {
        let target = try Self.nodeID(request.target, "target")
        switch await run(.findNode(target)) {
        case .nodes(let result):
            return LookupAnswer(closest: result.closest.map { .init(id: $0.id.hex, endpoint: $0.endpoint.description) },
                                queried: result.queried, responded: result.responded, failed: result.failed, hops: result.hops,
                                durationMs: Self.milliseconds(result.duration))
        case let other: throw Self.failure(other)
        }
    }

    public func put(_ request: PutRequest) async throws(APIError) -> PutResult {
        let value = BencodeValue.bytes(Array(request.value.utf8)).encoded()
        guard value.count <= ImmutableItem.maxValueLength else {
            throw .badRequest("the value bencodes to \(value.count) bytes; BEP 44 allows at most \(ImmutableItem.maxValueLength)")
        }
        let item: Item
        if request.immutable {
            item = .immutable(ImmutableItem(value: value))
        } else {
            let salt = Array((request.salt ?? "").utf8)
            guard salt.count <= MutableItem.maxSaltLength else { throw .badRequest("the salt is \(salt.count) bytes; BEP 44 allows 64") }
            let target = MutableItem.target(key: service.identity.publicKey, salt: salt)
            let sequence = await nextSequence(target: target, salt: salt)
            item = .mutable(MutableItem(signing: value, salt: salt, sequence: sequence, with: service.identity))
        }
        events.post(.published(item))
        switch await run(.put(item)) {
        case .stored(let target, let storedOn, _):
            var sequence: Int64?
            if case .mutable(let mutable) = item { sequence = mutable.sequence }
            return PutResult(target: target.hex, seq: sequence, storedOn: storedOn)
        case let other: throw Self.failure(other)
        }
    }

    /// One more than the highest sequence number known for `target`: this node's own record,
    /// or what the network holds (another data directory may have published with this key).
    func nextSequence(target: NodeID, salt: [UInt8]) async -> Int64 {
        var highest: Int64 = 0
        if case .mutable(let own)? = try? service.persistence.ownItem(target) { highest = own.sequence }
        if case .item(.mutable(let found)?, _, _) = await run(.get(target, salt: salt)) { highest = max(highest, found.sequence) }
        return highest + 1
    }

    public func item(target text: String, salt: String?) async throws(APIError) -> ItemResult {
        let target = try Self.nodeID(text, "target")
        switch await run(.get(target, salt: Array((salt ?? "").utf8))) {
        case .item(let item?, let foundOn, _):
            let decoded = try? BencodeDecoder(mode: .lenient).decode(item.value)
            var result = ItemResult(target: target.hex, foundOn: foundOn, value: decoded?.string, valueBencodedHex: Hex.encode(item.value))
            if case .mutable(let mutable) = item {
                result.seq = mutable.sequence
                result.key = mutable.key.hex
                result.peerID = mutable.key.peerID
                result.signature = Hex.encode(mutable.signature.bytes)
                result.salt = String(decoding: mutable.salt, as: UTF8.self)
            }
            return result
        case .item(nil, _, let lookup):
            throw .notFound("no item with target \(target.hex) was found (asked \(lookup.queried) nodes)")
        case let other: throw Self.failure(other)
        }
    }

    // MARK: Plumbing

    func run(_ command: DHTNode.Command) async -> DHTNode.Outcome {
        let outcome = await withCheckedContinuation { continuation in
            if events.post(.command(command, continuation)) { return }
            continuation.resume(returning: .failed("the node is busy or shutting down; try again"))
        }
        switch outcome {
        case .nodes(let lookup): NodeMetrics.lookupFinished("find_node", lookup)
        case .peers(_, let lookup): NodeMetrics.lookupFinished("get_peers", lookup)
        case .item(_, _, let lookup): NodeMetrics.lookupFinished("get", lookup)
        default: break
        }
        return outcome
    }

    /// Reads the node's state on its owner task; `nil` when the node is shutting down.
    func inspect<T: Sendable>(_ read: @escaping @Sendable (DHTNode) -> T) async -> T? {
        await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
            if events.post(.inspect { continuation.resume(returning: read($0)) }) { return }
            continuation.resume(returning: nil)
        }
    }

    static let busy = APIError(503, "the node is busy or shutting down; try again")

    static func nodeID(_ text: String, _ name: String) throws(APIError) -> NodeID {
        guard let id = NodeID(hex: text) else { throw .badRequest("'\(text)' is not a valid \(name): expected 40 hex digits") }
        return id
    }

    /// A DHT operation that did not succeed: the network (or the node's state) is the cause, not
    /// the request.
    static func failure(_ outcome: DHTNode.Outcome) -> APIError {
        if case .failed(let reason) = outcome { return APIError(503, reason) }
        return APIError(500, "unexpected outcome \(outcome)")
    }

    static func milliseconds(_ duration: Duration) -> Double {
        (Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15).rounded() / 1
    }

    static func reachabilityInfo(_ reach: Reachability) -> ReachabilityInfo {
        var info = ReachabilityInfo(summary: reach.summary, reachable: reach.isReachable, readOnly: reach.joinsReadOnly,
                                    nat: NATMapping.unknown.rawValue)
        switch reach.state {
        case .unknown: break
        case .unanswered: info.nat = "udp-blocked"
        case .tunnelled(let relay):
            info.nat = "udp-blocked"
            info.tunnel = relay
        case .reachable(let dht, let jobs, let path):
            info.dht = dht.description
            info.jobs = jobs.map { "tcp://\($0)" }
            if case .mapped(let by) = path {
                info.mappedBy = by
                info.nat = "mapped"
            } else {
                info.nat = NATMapping.none.rawValue
            }
        case .behindNAT(let mapping, let address):
            info.nat = mapping.rawValue
            info.publicAddress = address.map { Endpoint(address: $0, port: 0).addressText }
        }
        info.portMappingProblem = reach.mappingProblem
        if !reach.relays.isEmpty { info.relays = reach.relays }
        return info
    }

    static func dhtStatus(_ status: DHTNode.Status, contacts: [NodeContact]) -> DHTStatus {
        let counters = status.counters
        return DHTStatus(
            nodeID: status.id.hex, routingTableSize: status.routingTableSize, buckets: status.buckets, itemsStored: status.itemsStored,
            infoHashesStored: status.infoHashesStored, ownItems: status.ownItems, pendingQueries: status.pendingQueries,
            operations: status.operations, datagramsReceived: counters.datagramsReceived, datagramsSent: counters.datagramsSent,
            queriesReceived: counters.queriesReceived, queriesSent: counters.queriesSent, responsesReceived: counters.responsesReceived,
            errorsReceived: counters.errorsReceived, errorsSent: counters.errorsSent, timeouts: counters.timeouts,
            dialBacksSent: counters.dialBacksSent, dialBacksFailed: counters.dialBacksFailed, dropped: counters.dropped,
            contacts: contacts.map(\.endpoint.description))
    }
}
