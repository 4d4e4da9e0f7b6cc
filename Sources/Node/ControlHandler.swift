import Bencode
import Foundation
import JobChannel
import Synchronization
import PotluckCrypto
import Kademlia
import Reachability

/// Turns control requests (`spec/0008-control-api.md`) into state-machine commands sent to the
/// owner task, and their outcomes into JSON.
struct ControlHandler {
    let service: DHTService
    let events: Mailbox<DHTService.Event>
    let bound: [Endpoint]

    func handle(_ request: ControlRequest) async -> ControlResponse {
        do {
            switch request.method {
            case "node.info": return .success(await info())
            case "dht.status": return .success(await inspect { Self.statusJSON($0.status, contacts: $0.routingContacts) })
            case "dht.ping": return try await ping(request)
            case "dht.lookup": return try await lookup(request)
            case "dht.put": return try await put(request)
            case "dht.get": return try await get(request)
            case "offer.publish": return try await publishOffer(request)
            case "offer.withdraw": return try await withdrawOffer()
            case "offer.list": return try await listOffers(request)
            case "receipts.publish": return try await publishReceipts()
            case "receipts.sync": return try await syncReceipts(request)
            case "jobs.running": return .success(await runningJobs())
            case "batch.submit", "batch.list", "batch.show", "batch.cancel": return try await batches(request)
            default: return .failure("unknown method '\(request.method)'; see spec/0008-control-api.md")
            }
        } catch {
            return .failure(error.description)
        }
    }

    // MARK: Methods

    /// The jobs running on this machine now, for `potluck status`.
    private func runningJobs() async -> JSONValue {
        guard let jobService = service.jobs.withLock({ $0?.service }) else { return ["running": []] }
        let running = await jobService.desk.runningJobs
        return ["running": .array(running.map { job in
            ["borrower": .string(job.borrower.peerID), "job": .string(job.jobDigest.hex), "cores": .number(Double(job.cores)),
             "started": .number(job.startedAt.timeIntervalSince1970)]
        })]
    }

    private func info() async -> JSONValue {
        let nodeID = await inspect { .string($0.id.hex) }
        var info: [String: JSONValue] = ["peer_id": .string(service.identity.publicKey.peerID), "node_id": nodeID,
                                         "listen": .array(bound.map { .string($0.description) })]
        if let endpoint = service.jobs.withLock({ $0?.endpoint }) { info["jobs"] = .string(endpoint) }
        if let advertised = service.advertisedJobsEndpoint() { info["jobs_advertised"] = .string(advertised) }
        if let reach = service.reachability.withLock({ $0 }) { info["reachability"] = Self.reachabilityJSON(reach) }
        let bootstrap = service.bootstrapping.withLock { $0 }
        if !bootstrap.isEmpty {
            info["bootstrap"] = .array(bootstrap.map { host in
                var entry: [String: JSONValue] = ["host": .string(host.text), "attempts": .number(Double(host.attempts)),
                                                  "endpoints": .array(host.endpoints.map { .string($0.description) })]
                entry["state"] = .string(host.problem.map { "not joined: \($0)" } ?? "joined")
                return .object(entry)
            })
        }
        if let channel = service.jobServer.withLock({ $0?.statistics }) {
            // What the job channel's limits did (spec 0015 §3.1): a lender sees an attack here.
            info["job_channel"] = ["open": .number(Double(channel.open)), "established": .number(Double(channel.established)),
                                   "failed_handshakes": .number(Double(channel.failedHandshakes)),
                                   "refused": .number(Double(channel.refusedConnections)),
                                   "evicted": .number(Double(channel.evictedConnections))]
        }
        return .object(info)
    }

    private func ping(_ request: ControlRequest) async throws(NodeError) -> ControlResponse {
        let endpoint = try parameter(request, "endpoint", parse: Endpoint.init, expected: "HOST:PORT or [HOST]:PORT")
        switch await run(.ping(endpoint)) {
        case .pong(let id, let roundTrip, let key):
            var result: [String: JSONValue] = ["node_id": .string(id.hex), "rtt_ms": .number(Self.milliseconds(roundTrip))]
            if let key { result["peer_id"] = .string(key.peerID) }
            return .success(.object(result))
        case let other: return Self.failure(other)
        }
    }

    private func lookup(_ request: ControlRequest) async throws(NodeError) -> ControlResponse {
        let target = try parameter(request, "target", parse: { NodeID(hex: $0) }, expected: "40 hex digits")
        switch await run(.findNode(target)) {
        case .nodes(let result): return .success(Self.lookupJSON(result))
        case let other: return Self.failure(other)
        }
    }

    private func put(_ request: ControlRequest) async throws(NodeError) -> ControlResponse {
        guard let text = request.params["value"] else { throw NodeError("missing 'value'") }
        let value = BencodeValue.bytes(Array(text.utf8)).encoded()
        guard value.count <= ImmutableItem.maxValueLength else {
            throw NodeError("the value bencodes to \(value.count) bytes; BEP 44 allows at most \(ImmutableItem.maxValueLength)")
        }
        let item: Item
        if request.params["immutable"] == "true" {
            item = .immutable(ImmutableItem(value: value))
        } else {
            let salt = Array((request.params["salt"] ?? "").utf8)
            guard salt.count <= MutableItem.maxSaltLength else { throw NodeError("the salt is \(salt.count) bytes; BEP 44 allows 64") }
            let target = MutableItem.target(key: service.identity.publicKey, salt: salt)
            let sequence = await nextSequence(target: target, salt: salt)
            item = .mutable(MutableItem(signing: value, salt: salt, sequence: sequence, with: service.identity))
        }
        events.post(.published(item))
        switch await run(.put(item)) {
        case .stored(let target, let storedOn, _):
            var result: [String: JSONValue] = ["target": .string(target.hex), "stored_on": .number(Double(storedOn))]
            if case .mutable(let mutable) = item { result["seq"] = .number(Double(mutable.sequence)) }
            return .success(.object(result))
        case let other: return Self.failure(other)
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

    private func get(_ request: ControlRequest) async throws(NodeError) -> ControlResponse {
        let target = try parameter(request, "target", parse: { NodeID(hex: $0) }, expected: "40 hex digits")
        let salt = Array((request.params["salt"] ?? "").utf8)
        switch await run(.get(target, salt: salt)) {
        case .item(let item?, let foundOn, _):
            var result: [String: JSONValue] = ["target": .string(target.hex), "found_on": .number(Double(foundOn))]
            let decoded = try? BencodeDecoder(mode: .lenient).decode(item.value)
            result["value"] = decoded?.string.map(JSONValue.string) ?? .null
            result["value_bencoded_hex"] = .string(Hex.encode(item.value))
            if case .mutable(let mutable) = item {
                result["seq"] = .number(Double(mutable.sequence))
                result["key"] = .string(mutable.key.hex)
                result["peer_id"] = .string(mutable.key.peerID)
                result["signature"] = .string(Hex.encode(mutable.signature.bytes))
                result["salt"] = .string(String(decoding: mutable.salt, as: UTF8.self))
            }
            return .success(.object(result))
        case .item(nil, _, let lookup):
            return .failure("no item with target \(target.hex) was found (asked \(lookup.queried) nodes)")
        case let other: return Self.failure(other)
        }
    }

    // MARK: Plumbing

    func run(_ command: DHTNode.Command) async -> DHTNode.Outcome {
        await withCheckedContinuation { continuation in
            if events.post(.command(command, continuation)) { return }
            continuation.resume(returning: .failed("the node is busy or shutting down; try again"))
        }
    }

    func inspect(_ read: @escaping @Sendable (DHTNode) -> JSONValue) async -> JSONValue {
        await withCheckedContinuation { continuation in
            if events.post(.inspect(read, continuation)) { return }
            continuation.resume(returning: .null)
        }
    }

    func parameter<T>(
        _ request: ControlRequest, _ name: String, parse: (String) -> T?, expected: String
    ) throws(NodeError) -> T {
        guard let text = request.params[name] else { throw NodeError("missing '\(name)'") }
        guard let value = parse(text) else { throw NodeError("'\(text)' is not a valid \(name): expected \(expected)") }
        return value
    }

    static func failure(_ outcome: DHTNode.Outcome) -> ControlResponse {
        if case .failed(let reason) = outcome { return .failure(reason) }
        return .failure("unexpected outcome \(outcome)")
    }

    static func milliseconds(_ duration: Duration) -> Double {
        (Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15).rounded() / 1
    }

    static func reachabilityJSON(_ reach: Reachability) -> JSONValue {
        var fields: [String: JSONValue] = ["summary": .string(reach.summary), "reachable": .bool(reach.isReachable),
                                           "read_only": .bool(reach.joinsReadOnly)]
        switch reach.state {
        case .unknown: fields["nat"] = .string(NATMapping.unknown.rawValue)
        case .unanswered: fields["nat"] = .string("udp-blocked")
        case .reachable(let dht, let jobs, let path):
            fields["dht"] = .string(dht.description)
            if let jobs { fields["jobs"] = .string("tcp://\(jobs)") }
            if case .mapped(let by) = path { fields["mapped_by"] = .string(by); fields["nat"] = .string("mapped") } else { fields["nat"] = .string(NATMapping.none.rawValue) }
        case .behindNAT(let mapping, let address):
            fields["nat"] = .string(mapping.rawValue)
            if let address { fields["public_address"] = .string(Endpoint(address: address, port: 0).addressText) }
        }
        if let problem = reach.mappingProblem { fields["port_mapping_problem"] = .string(problem) }
        if !reach.relays.isEmpty { fields["relays"] = .array(reach.relays.map(JSONValue.string)) }
        return .object(fields)
    }

    static func lookupJSON(_ result: LookupResult) -> JSONValue {
        ["closest": .array(result.closest.map { ["id": .string($0.id.hex), "endpoint": .string($0.endpoint.description)] }),
         "queried": .number(Double(result.queried)), "responded": .number(Double(result.responded)),
         "failed": .number(Double(result.failed)), "hops": .number(Double(result.hops)),
         "duration_ms": .number(milliseconds(result.duration))]
    }

    static func statusJSON(_ status: DHTNode.Status, contacts: [NodeContact]) -> JSONValue {
        let counters = status.counters
        return ["node_id": .string(status.id.hex), "routing_table_size": .number(Double(status.routingTableSize)),
                "buckets": .number(Double(status.buckets)), "items_stored": .number(Double(status.itemsStored)),
                "info_hashes_stored": .number(Double(status.infoHashesStored)), "own_items": .number(Double(status.ownItems)),
                "pending_queries": .number(Double(status.pendingQueries)), "operations": .number(Double(status.operations)),
                "datagrams_received": .number(Double(counters.datagramsReceived)),
                "datagrams_sent": .number(Double(counters.datagramsSent)),
                "queries_received": .object(counters.queriesReceived.mapValues { .number(Double($0)) }),
                "queries_sent": .number(Double(counters.queriesSent)),
                "responses_received": .number(Double(counters.responsesReceived)),
                "errors_received": .number(Double(counters.errorsReceived)), "errors_sent": .number(Double(counters.errorsSent)),
                "timeouts": .number(Double(counters.timeouts)),
                "dial_backs_sent": .number(Double(counters.dialBacksSent)), "dial_backs_failed": .number(Double(counters.dialBacksFailed)),
                "dropped": .object(counters.dropped.mapValues { .number(Double($0)) }),
                "contacts": .array(contacts.map { .string($0.endpoint.description) })]
    }
}
