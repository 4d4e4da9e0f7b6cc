import Coordinates
import PotluckCrypto

/// Iterative operations: a lookup (BEP 5 §"find_node", paper §2.3), then for `announce` and
/// `put` a store to the k closest nodes that gave a write token.
extension DHTNode {
    mutating func startOperation(
        _ kind: Operation.Kind, target: NodeID, salt: [UInt8] = [], request: RequestID?, now: Timestamp,
        into actions: inout [Action]
    ) {
        let (seeds, expected) = lookupSeeds(closestTo: target)
        var operation = Operation(kind: kind, request: request, target: target,
                                  lookup: Lookup(target: target, ownID: id, seeds: seeds, expectedRoundTrips: expected,
                                                 configuration: lookupConfiguration(for: kind), now: now),
                                  phase: .lookingUp, wakeAt: now, startedAt: now)
        operation.salt = salt
        operation.fillsBucket = kind == .refresh && !table.isBucketFull(holding: target)
        includeLocalKnowledge(in: &operation, now: now)
        let knowsAnswer = operation.bestItem != nil || !operation.peersFound.isEmpty
        guard !seeds.isEmpty || knowsAnswer else {
            if let request { actions.append(.completed(request, .failed("the routing table is empty: bootstrap first (is any node reachable?)"))) }
            return
        }
        advance(add(operation), now: now, into: &actions)
    }

    /// The α of a bootstrap lookup: at most 4 (`spec/0007` §9.2.6).
    static let tableBuildingAlpha = 4

    /// The lookup settings for an operation of `kind`. A bootstrap or refresh lookup fills the
    /// table and nobody waits for it, so it keeps α slots to the end (no converged burst,
    /// `spec/0007` §5.8), every query holding its slot (§5.9), at α 4: with the burst in joins
    /// too, the nodes of `simgrid-kademlia.toml`, all joining at once, built tables that left
    /// 21% of later lookups inexact (none without); with α 6 and §5.9 in joins, `churn-10k`
    /// lookups were 89.3% exact instead of 90.2% (§9.2.6). A refresh keeps
    /// ``Configuration/refreshQueriesInFlight`` slots.
    func lookupConfiguration(for kind: Operation.Kind) -> Lookup.Configuration {
        var lookup = configuration.lookup
        switch kind {
        case .bootstrap:
            lookup.burstsWhenConverged = false
            lookup.overtakenFreeSlots = false
            lookup.alpha = min(lookup.alpha, Self.tableBuildingAlpha)
        case .refresh:
            lookup.burstsWhenConverged = false
            lookup.overtakenFreeSlots = false
            lookup.alpha = configuration.refreshQueriesInFlight
        case .findNode, .getPeers, .announce, .get, .put:
            break
        }
        return lookup
    }

    /// A lookup's seeds, the table's members closest to `target`, each with the round trip our
    /// coordinate and the one it sent us predict (`spec/0007` §5.7; empty when lookups do not
    /// use them).
    private func lookupSeeds(closestTo target: NodeID) -> ([NodeContact], [Duration?]) {
        let members = table.closestMembers(to: target, count: configuration.lookup.candidateLimit)
        guard configuration.lookup.expectedRoundTripFactor != nil, members.contains(where: \.coordinate.isKnown) else {
            return (members.map(\.contact), [])
        }
        let own = PackedCoordinate(vivaldi.report)
        return (members.map(\.contact), members.map { own.roundTrip(to: $0.coordinate) })
    }

    /// Gives `operation` the next id and adds it to the running operations.
    private mutating func add(_ operation: consuming Operation) -> OperationID {
        operation.id = nextOperationID
        nextOperationID += 1
        operations.append(operation)
        return nextOperationID - 1
    }

    /// What this node itself holds counts too: in a small network it may be one of the k closest.
    private func includeLocalKnowledge(in operation: inout Operation, now: Timestamp) {
        switch operation.kind {
        case .get:
            let local = items.get(operation.target, now: now) ?? ownItems[operation.target]?.item
            if let local, case .mutable(let item) = local, item.salt != operation.salt { break }
            if let local {
                operation.bestItem = local
                operation.foundOn = 1
            }
        case .getPeers:
            for family in [PeerStore.Family.v4, .v6] {
                let local = peers.peers(for: operation.target, now: now, family: family)
                operation.peersFound += local
                for peer in local { if let key = announcerKeys[peer] { operation.peerKeys[peer] = key } }
            }
        default:
            break
        }
    }

    /// Bootstrap: `find_node(own id)` to each endpoint, then a lookup of our own id seeded with
    /// what they returned (BEP 5: "a node should ... perform a find_node on itself").
    mutating func startBootstrap(_ endpoints: [Endpoint], request: RequestID?, now: Timestamp, into actions: inout [Action]) {
        let unique = Array(Set(endpoints)).sorted { $0.description < $1.description }
        let operationID = add(Operation(
            kind: .bootstrap, request: request, target: id,
            lookup: Lookup(target: id, ownID: id, seeds: [], configuration: lookupConfiguration(for: .bootstrap), now: now),
            phase: .seeding(remaining: unique.count), wakeAt: .max, startedAt: now))
        for endpoint in unique {
            sendQuery(.findNode(target: id), to: endpoint, nodeID: nil, purpose: .bootstrapSeed(operationID), now: now, into: &actions)
        }
        if unique.isEmpty { seedFinished(operationID, now: now, force: true, into: &actions) }
    }

    /// One bootstrap endpoint answered or failed; once all have, the lookup starts.
    mutating func seedFinished(_ operationID: OperationID, now: Timestamp, force: Bool = false, into actions: inout [Action]) {
        guard let index = operations.index(of: operationID), case .seeding(let remaining) = operations[index].phase else { return }
        let left = force ? 0 : remaining - 1
        guard left <= 0 else {
            operations[index].phase = .seeding(remaining: left)
            return
        }
        let (members, expected) = lookupSeeds(closestTo: id)
        operations[index].lookup = Lookup(target: id, ownID: id, seeds: members + operations[index].seedContacts,
                                          expectedRoundTrips: expected, configuration: lookupConfiguration(for: .bootstrap), now: now)
        operations[index].phase = .lookingUp
        operations[index].wakeAt = now
        advance(operationID, now: now, into: &actions)
    }

    /// Drives an operation's lookup: sends what it asks, and moves on when it has finished.
    ///
    /// The operation is mutated in place in the array (never copied out and back), so its
    /// lookup's arrays stay uniquely owned and are not copied on every step. Its index is found
    /// again after each query sent: a failure to send may end another operation.
    mutating func advance(_ operationID: OperationID, now: Timestamp, into actions: inout [Action]) {
        guard let index = operations.index(of: operationID), operations[index].phase == .lookingUp else { return }
        if operations[index].fillsBucket, table.isBucketFull(holding: operations[index].target) {
            lookupFinished(operationID, now: now, into: &actions)
            return
        }
        let method = operations[index].lookupMethod
        while pending.count < configuration.maxPendingQueries {
            guard let index = operations.index(of: operationID) else { return }
            switch operations[index].lookup.next(now: now) {
            case .query(let contact):
                sendQuery(method, to: contact.endpoint, nodeID: contact.id, purpose: .lookup(operationID), now: now, into: &actions)
            case .waitUntil(let time):
                operations[index].wakeAt = time
                return
            case .finished:
                lookupFinished(operationID, now: now, into: &actions)
                return
            }
        }
        // Out of query slots: retry shortly.
        if let index = operations.index(of: operationID) { operations[index].wakeAt = now + .milliseconds(100) }
    }

    /// The lookup is done: complete, or store to the closest nodes for `announce` and `put`.
    private mutating func lookupFinished(_ operationID: OperationID, now: Timestamp, into actions: inout [Action]) {
        guard let index = operations.index(of: operationID) else { return }
        let operation = operations[index]
        var result = operation.lookup.result
        result.firstValueAfter = operation.firstValueAt.map { $0 - operation.lookup.startedAt }
        switch operation.kind {
        case .bootstrap:
            complete(operationID, .bootstrapped(tableSize: table.count, result), into: &actions)
            if configuration.refreshesAfterJoin { planJoinRefresh(now: now, into: &actions) }
        case .refresh:
            complete(operationID, .nodes(result), into: &actions)
            startJoinRefreshes(now: now, into: &actions)
        case .findNode:
            complete(operationID, .nodes(result), into: &actions)
        case .getPeers:
            var withKeys = result
            withKeys.peerKeys = operation.peerKeys
            complete(operationID, .peers(operation.peersFound, withKeys), into: &actions)
        case .get:
            complete(operationID, .item(operation.bestItem, foundOn: operation.foundOn, result), into: &actions)
        case .announce(let port):
            store(operationID, result: result, now: now, into: &actions) { token in
                .announcePeer(KRPCMessage.AnnouncePeer(infoHash: operation.target, port: port ?? 0, token: token,
                                                       impliedPort: port == nil))
            }
        case .put(let item):
            store(operationID, result: result, now: now, into: &actions) { token in .put(Self.putRequest(for: item, token: token)) }
        }
    }

    private mutating func store(
        _ operationID: OperationID, result: LookupResult, now: Timestamp, into actions: inout [Action],
        method: (_ token: [UInt8]) -> KRPCMessage.Method
    ) {
        guard let index = operations.index(of: operationID) else { return }
        let operation = operations[index]
        let targets = result.closest.filter { operation.tokens[$0.id] != nil }
        guard !targets.isEmpty else {
            complete(operationID, .failed("no node near \(operation.target) gave a write token (is the network reachable?)"), into: &actions)
            return
        }
        operations[index].phase = .storing(remaining: targets.count)
        operations[index].wakeAt = .max
        for contact in targets {
            sendQuery(method(operation.tokens[contact.id]!), to: contact.endpoint, nodeID: contact.id,
                      purpose: .store(operationID), now: now, into: &actions)
        }
    }

    /// One store was acknowledged or failed; complete when none is left.
    mutating func storeFinished(_ operationID: OperationID, now: Timestamp, into actions: inout [Action]) {
        guard let index = operations.index(of: operationID), case .storing(let remaining) = operations[index].phase else { return }
        guard remaining <= 1 else {
            operations[index].phase = .storing(remaining: remaining - 1)
            return
        }
        let operation = operations[index]
        let result = operation.lookup.result
        switch operation.kind {
        case .announce: complete(operationID, .announced(storedOn: operation.storedOn, result), into: &actions)
        default: complete(operationID, .stored(target: operation.target, storedOn: operation.storedOn, result), into: &actions)
        }
    }

    private mutating func complete(_ operationID: OperationID, _ outcome: Outcome, into actions: inout [Action]) {
        guard let index = operations.index(of: operationID) else { return }
        let operation = operations.remove(at: index)
        guard let request = operation.request else { return }
        actions.append(.completed(request, outcome))
    }

    static func putRequest(for item: Item, token: [UInt8]) -> KRPCMessage.PutRequest {
        switch item {
        case .immutable(let immutable):
            return KRPCMessage.PutRequest(token: token, value: immutable.value)
        case .mutable(let mutable):
            let fields = KRPCMessage.MutableItem(publicKey: mutable.key.bytes, signature: mutable.signature.bytes,
                                                 sequence: mutable.sequence, salt: mutable.salt.isEmpty ? nil : mutable.salt)
            return KRPCMessage.PutRequest(token: token, value: mutable.value, mutable: fields)
        }
    }

    /// Periodic upkeep: expire items and peers, refresh stale buckets, republish own items.
    mutating func maintain(now: Timestamp, into actions: inout [Action]) {
        for expired in items.expire(now: now) { actions.append(.itemRemoved(expired)) }
        peers.expire(now: now)
        forgetExpiredEndpoints(now: now)
        let refreshing = operations.filter { $0.kind == .refresh }.count
        for bucket in table.bucketsNeedingRefresh(now: now).prefix(max(0, 2 - refreshing)) {
            let target = table.refreshTarget(forBucket: bucket, using: &random)
            table.refreshed(bucket: bucket, now: now)
            counters.periodicRefreshes += 1
            startOperation(.refresh, target: target, request: nil, now: now, into: &actions)
        }
        for (target, own) in ownItems.sorted(by: { $0.key < $1.key }) where own.nextRepublish <= now {
            ownItems[target]?.nextRepublish = now + configuration.republishInterval
            startOperation(.put(own.item), target: target, request: nil, now: now, into: &actions)
        }
    }
}

extension DHTNode {
    /// Drops the dial-backs and silent endpoints whose memory has run out: an expired entry
    /// already counts as absent, so this changes no decision, only what the node holds (a
    /// node that hears from many peers kept up to 4,096 of each until the cap emptied them).
    mutating func forgetExpiredEndpoints(now: Timestamp) {
        if dialedBack.contains(where: { $0.value.until <= now }) { dialedBack = dialedBack.filter { $0.value.until > now } }
        if silent.contains(where: { $0.value <= now }) { silent = silent.filter { $0.value > now } }
    }

    /// After a bootstrap: a refresh lookup for a random id in every bucket with room left but
    /// the node's own (which the bootstrap's lookup of its own id just filled), two at a time
    /// (`spec/0004-dht-routing.md` §5.4).
    mutating func planJoinRefresh(now: Timestamp, into actions: inout [Action]) {
        let own = table.buckets.firstIndex { $0.prefixLength == 0 || (id ^ $0.prefix).leadingZeroBitCount >= $0.prefixLength }
        joinRefreshTargets = table.buckets.indices.filter { $0 != own && table.buckets[$0].entries.count < configuration.routing.bucketSize }
            .map { index in
                table.refreshed(bucket: index, now: now)
                return table.refreshTarget(forBucket: index, using: &random)
            }
        startJoinRefreshes(now: now, into: &actions)
    }

    /// Starts the join's refresh lookups still waiting, while fewer than two refreshes run; a
    /// bucket that has filled meanwhile (queriers, other lookups) is left out.
    mutating func startJoinRefreshes(now: Timestamp, into actions: inout [Action]) {
        while !joinRefreshTargets.isEmpty, operations.filter({ $0.kind == .refresh }).count < 2 {
            let target = joinRefreshTargets.removeFirst()
            if table.isBucketFull(holding: target) { continue }
            counters.joinRefreshes += 1
            startOperation(.refresh, target: target, request: nil, now: now, into: &actions)
        }
    }

    /// Pings the routing table's member heard from least recently, if it has been quiet long
    /// enough (`spec/0004-dht-routing.md` §5.3). Its answer or silence reaches the table like
    /// any maintenance ping's.
    mutating func checkLiveness(now: Timestamp, into actions: inout [Action]) {
        guard let member = table.leastRecentlySeen(quietFor: configuration.livenessQuietAfter, now: now),
              maintenancePing(member, now: now, into: &actions) else { return }
        counters.livenessChecks += 1
    }
}

extension Timestamp {
    /// A time later than any other, for "never".
    public static let max = Timestamp(nanoseconds: .max)
}
