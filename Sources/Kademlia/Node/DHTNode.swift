import Bencode
import Coordinates
import PotluckCrypto
import SeededRandom

/// A Mainline DHT node as a sans-I/O state machine (BEP 5, with BEP 32, 42, 43, 44 and 51).
///
/// It never reads a clock, a socket or a random source of its own: every input carries `now`,
/// randomness comes from the seed given at creation, and every effect is an ``Action`` for the
/// driver to carry out. The real node (`Sources/Node`, SwiftNIO and LMDB) and the simulator
/// drive the very same machine.
///
/// Inputs: ``receive(_:from:now:)`` for each datagram, ``start(_:request:now:)`` for commands,
/// ``wake(now:)`` when ``nextWakeup`` has passed. Outputs: ``Action`` values.
///
/// Deviations: one routing table holds IPv4 and IPv6 contacts (BEP 32 suggests two); replies
/// fill `nodes` and `nodes6` from it by family.
public struct DHTNode: Sendable {
    public internal(set) var configuration: Configuration
    /// Its id: random at first, then BEP 42's for its public address once other nodes agree on
    /// it (``Configuration/adoptsSecureID``).
    public internal(set) var id: NodeID

    var table: RoutingTable
    var replyMemo = ReplyMemo()
    var items: ItemStore
    var peers: PeerStore
    var tokens: TokenIssuer
    var random: SplitMix64
    var transactions = KRPCTransactionIDGenerator()
    var pending = PendingQueries()
    var operations: [Operation] = []
    var nextOperationID: OperationID = 1
    var rateLimiter: RateLimiter
    var ownItems: [NodeID: OwnItem] = [:]
    var nextTokenRotation: Timestamp
    var nextMaintenance: Timestamp
    /// When the next liveness check is due (``Configuration/livenessCheckInterval``).
    var nextLivenessCheck: Timestamp
    var externalAddress = ExternalAddressVote()
    /// Refresh targets left from the join (``Configuration/refreshesAfterJoin``), the next first.
    var joinRefreshTargets: [NodeID] = []
    /// The keys peers announced with (`plk` on `announce_peer`), by announced endpoint.
    var announcerKeys: [Endpoint: PublicKey] = [:]
    /// Endpoints being dialled back; those that answered or failed, until when that stands.
    var dialBacks: Set<Endpoint> = []
    var dialedBack: [Endpoint: (passed: Bool, until: Timestamp)] = [:]
    /// Endpoints that let a lookup query time out, until when lookups leave them out
    /// (``Configuration/silentMemory``).
    var silent: [Endpoint: Timestamp] = [:]
    /// This node's Vivaldi coordinate, refined by the round-trip time of every reply (`plc`).
    public internal(set) var vivaldi: VivaldiNode
    public internal(set) var counters = Counters()

    /// A node with identifier `id` (BEP 42: derive it from the external address with
    /// ``NodeIDSecurity`` when known), seeded for its own randomness (tokens, refresh targets).
    public init(id: NodeID, configuration: Configuration = Configuration(), seed: UInt64, now: Timestamp) {
        self.id = id
        self.configuration = configuration
        table = RoutingTable(ownID: id, configuration: configuration.routing, now: now)
        items = ItemStore(configuration: configuration.items)
        peers = PeerStore(configuration: configuration.peers)
        random = SplitMix64(seed: seed)
        tokens = TokenIssuer(secret: random.bytes(16))
        rateLimiter = RateLimiter(
            perAddress: .init(rate: configuration.queriesPerSecondPerAddress, burst: configuration.queryBurstPerAddress),
            perBlock: .init(rate: configuration.queriesPerSecondPerBlock, burst: configuration.queryBurstPerBlock),
            global: .init(rate: configuration.repliesPerSecond, burst: configuration.replyBurst),
            capacity: configuration.rateLimiterCapacity)
        vivaldi = VivaldiNode(seed: seed ^ 0x5649_5641_4C44_4921)
        nextTokenRotation = now + configuration.tokenRotation
        nextMaintenance = now + configuration.maintenanceInterval
        nextLivenessCheck = configuration.livenessCheckInterval.map { now + $0 } ?? .max
    }

    // MARK: Inputs

    /// Handles one datagram from `source`. Malformed input is counted and dropped.
    public mutating func receive(_ datagram: [UInt8], from source: Endpoint, now: Timestamp) -> [Action] {
        var actions: [Action] = []
        actions.reserveCapacity(4)
        receive(datagram, from: source, now: now, into: &actions)
        return actions
    }

    /// ``receive(_:from:now:)`` appending its actions to `actions`, an outbox the driver keeps
    /// and empties: the simulator delivers millions of datagrams and allocates no array for each.
    public mutating func receive(_ datagram: [UInt8], from source: Endpoint, now: Timestamp, into actions: inout [Action]) {
        counters.datagramsReceived += 1
        guard datagram.count <= configuration.maxDatagramSize else {
            counters.drop("too-big")
            return
        }
        let message: KRPCMessage
        do {
            message = try KRPCMessage.decode(datagram)
        } catch {
            counters.drop("malformed")
            // BEP 5: a query we cannot parse gets a protocol error, if we could read its `t`.
            guard !configuration.readOnly, let reply = error.errorReply else { return }
            counters.errorsSent += 1
            actions.append(send(reply, to: source))
            return
        }
        handle(message, from: source, now: now, into: &actions)
    }

    /// Handles a message that was never encoded: the simulator's codec switch
    /// (``Configuration/encodesMessages`` off). Everything after decoding is the same path as
    /// ``receive(_:from:now:)``.
    public mutating func receive(message: KRPCMessage, from source: Endpoint, now: Timestamp) -> [Action] {
        var actions: [Action] = []
        actions.reserveCapacity(4)
        receive(message: message, from: source, now: now, into: &actions)
        return actions
    }

    /// ``receive(message:from:now:)`` appending its actions to `actions` (see
    /// ``receive(_:from:now:into:)``).
    public mutating func receive(message: KRPCMessage, from source: Endpoint, now: Timestamp, into actions: inout [Action]) {
        counters.datagramsReceived += 1
        handle(message, from: source, now: now, into: &actions)
    }

    /// Internally every step appends its effects to one outbox (`actions`), in order, rather
    /// than returning arrays to concatenate: a node handles millions of messages in the simulator.
    private mutating func handle(_ message: KRPCMessage, from source: Endpoint, now: Timestamp, into actions: inout [Action]) {
        switch message.kind {
        case .query(let query):
            answer(query, message: message, from: source, now: now, into: &actions)
        case .response(let response):
            let key = message.extensions.isEmpty ? nil
                : message.extensions[DHTNode.identityKey].flatMap { $0.bytes }.flatMap { try? PublicKey(bytes: $0) }
            // A reply to a dial-back saw the other port: it says nothing of the node's own endpoint.
            let dialledBack = KRPCTransactionID(bytes: message.transactionID).flatMap(pending.query(for:)).map {
                if case .dialBack = $0.purpose { true } else { false }
            } ?? false
            handleResponse(response, transactionID: message.transactionID, from: source, peerKey: key,
                           peerCoordinate: message.coordinate, now: now, into: &actions)
            if !dialledBack, let seen = message.senderIP { noteExternalAddress(seen, reportedBy: source.address, now: now, into: &actions) }
        case .error(let error):
            handleError(error, transactionID: message.transactionID, from: source, now: now, into: &actions)
        }
    }

    /// Starts a command; its result arrives later as ``Action/completed(_:_:)`` with `request`.
    public mutating func start(_ command: Command, request: RequestID?, now: Timestamp) -> [Action] {
        var actions: [Action] = []
        switch command {
        case .ping(let endpoint):
            sendQuery(.ping, to: endpoint, nodeID: nil, purpose: .ping(request), now: now, into: &actions)
        case .bootstrap(let endpoints):
            startBootstrap(endpoints, request: request, now: now, into: &actions)
        case .findNode(let target):
            startOperation(.findNode, target: target, request: request, now: now, into: &actions)
        case .getPeers(let infoHash):
            startOperation(.getPeers, target: infoHash, request: request, now: now, into: &actions)
        case .announce(let infoHash, let port):
            startOperation(.announce(port: port), target: infoHash, request: request, now: now, into: &actions)
        case .get(let target, let salt):
            startOperation(.get, target: target, salt: salt, request: request, now: now, into: &actions)
        case .put(let item):
            if let problem = validateOwn(item) { return request.map { [.completed($0, .failed(problem))] } ?? [] }
            ownItems[item.target] = OwnItem(item: item, nextRepublish: now + configuration.republishInterval)
            startOperation(.put(item), target: item.target, request: request, now: now, into: &actions)
        }
        return actions
    }

    /// Handles everything due by `now`: query timeouts, slow lookups, token rotation, expiry,
    /// bucket refresh and republishing.
    public mutating func wake(now: Timestamp) -> [Action] {
        var actions: [Action] = []
        expireQueries(now: now, into: &actions)
        var due: [OperationID] = []
        for index in operations.indices where operations[index].wakeAt <= now { due.append(operations[index].id) }
        for operationID in due.sorted() { advance(operationID, now: now, into: &actions) }
        if now >= nextTokenRotation {
            tokens.rotate(newSecret: random.bytes(16))
            nextTokenRotation = now + configuration.tokenRotation
        }
        if now >= nextMaintenance {
            nextMaintenance = now + configuration.maintenanceInterval
            maintain(now: now, into: &actions)
        }
        if now >= nextLivenessCheck, let interval = configuration.livenessCheckInterval {
            nextLivenessCheck = now + interval
            checkLiveness(now: now, into: &actions)
        }
        return actions
    }

    /// When the driver should call ``wake(now:)`` next (it may call it earlier or more often).
    public var nextWakeup: Timestamp {
        Self.earliestWakeup(tokenRotation: nextTokenRotation, maintenance: min(nextMaintenance, nextLivenessCheck), pending: pending,
                            operations: operations)
    }

    /// ``nextWakeup`` read through `self`'s address, for a driver that keeps many nodes in an
    /// array (the simulator asks after every event): a getter called from another module gets
    /// a large struct by value, so reading an array element's ``nextWakeup`` first copies the
    /// whole 1.2 KB node. Changes nothing.
    public mutating func nextWakeupInPlace() -> Timestamp {
        Self.earliestWakeup(tokenRotation: nextTokenRotation, maintenance: min(nextMaintenance, nextLivenessCheck), pending: pending,
                            operations: operations)
    }

    private static func earliestWakeup(
        tokenRotation: Timestamp, maintenance: Timestamp, pending: borrowing PendingQueries, operations: borrowing [Operation]
    ) -> Timestamp {
        var earliest = min(tokenRotation, maintenance, pending.earliestDeadline)
        for index in operations.indices where operations[index].wakeAt < earliest { earliest = operations[index].wakeAt }
        return earliest
    }

    // MARK: State for drivers

    /// The routing table's contacts (for persistence across restarts).
    public var routingContacts: [NodeContact] { table.allContacts }

    /// Items stored for others (for persistence).
    public var storedItems: [StoredItem] { items.allItems }

    /// Reloads an item persisted by the driver.
    public mutating func restore(_ stored: StoredItem) {
        items.restore(stored.item, storedAt: stored.storedAt, from: stored.owner)
    }

    /// A summary for `potluck dht status`.
    public var status: Status {
        Status(id: id, routingTableSize: table.count, buckets: table.buckets.count, itemsStored: items.count,
               infoHashesStored: peers.infoHashCount, pendingQueries: pending.count, operations: operations.count,
               ownItems: ownItems.count, rememberedEndpoints: dialedBack.count + silent.count, counters: counters)
    }

    // MARK: Sending

    /// The extension key carrying a node's Potluck identity.
    public static let identityKey = Array("plk".utf8)

    mutating func send(_ message: consuming KRPCMessage, to endpoint: Endpoint) -> Action {
        counters.datagramsSent += 1
        if let identity = configuration.identity { message.extensions[Self.identityKey] = .bytes(identity.bytes) }
        message.coordinate = vivaldi.report
        if configuration.encodesMessages { return .send(message.encoded(), to: endpoint) }
        // Unencoded, the coordinate still has the wire's precision (µs, millionths): the receiver
        // packs it (`spec/0013` §4.2), and a run must not depend on the codec being on.
        message.coordinate = message.coordinate.flatMap { VivaldiReport(integers: $0.integers) }
        return .sendMessage(consume message, to: endpoint)
    }

    /// Sends a query and remembers it until its reply, error or timeout.
    mutating func sendQuery(
        _ method: KRPCMessage.Method, to endpoint: Endpoint, nodeID: NodeID?, purpose: PendingQuery.Purpose, now: Timestamp,
        into actions: inout [Action]
    ) {
        guard pending.count < configuration.maxPendingQueries,
              let transaction = transactions.issue(avoiding: pending.contains) else {
            failPurpose(purpose, nodeID: nodeID, reason: "too many queries in flight", now: now, into: &actions)
            return
        }
        pending.insert(PendingQuery(endpoint: endpoint, nodeID: nodeID, sentAt: now,
                                    deadline: now + configuration.queryTimeout, purpose: purpose), for: transaction)
        counters.queriesSent += 1
        counters.queriesByCause[cause(of: purpose)] += 1
        let query = KRPCMessage(transactionID: transaction.bytes, kind: .query(KRPCMessage.Query(id: id, method: method)),
                                clientVersion: configuration.clientVersion,
                                readOnly: configuration.readOnly || configuration.staysOutOfTables)
        if case .dialBack = purpose {
            counters.dialBacksSent += 1
            dialBacks.insert(endpoint)
            actions.append(.dialBack(query.encoded(), to: endpoint))
        } else {
            actions.append(send(consume query, to: endpoint))
        }
    }

    /// The index of `purpose`'s cause in ``Counters/queriesSentByCause``.
    private func cause(of purpose: PendingQuery.Purpose) -> Int {
        switch purpose {
        case .lookup(let operationID):
            switch operations.first(where: { $0.id == operationID })?.kind {
            case .bootstrap?: 2
            case .refresh?: 3
            default: 0
            }
        case .store: 1
        case .bootstrapSeed: 2
        case .maintenance: 4
        case .dialBack: 5
        case .ping: 6
        }
    }

    /// Validates an item this node is asked to publish.
    func validateOwn(_ item: Item) -> String? {
        do throws(ItemError) {
            switch item {
            case .immutable(let immutable): try immutable.validate()
            case .mutable(let mutable): try mutable.validate(verifier: configuration.verifier)
            }
            return nil
        } catch {
            return error.message
        }
    }
}
