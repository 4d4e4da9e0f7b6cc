import Bencode
import Coordinates
import PotluckCrypto

/// Replies, errors and timeouts of this node's own queries.
extension DHTNode {
    mutating func handleResponse(
        _ response: KRPCMessage.Response, transactionID: [UInt8], from source: Endpoint, peerKey: PublicKey?,
        peerCoordinate: VivaldiReport?, now: Timestamp, into actions: inout [Action]
    ) {
        guard let query = claimPending(transactionID, from: source) else { return }
        counters.responsesReceived += 1
        silent[source] = nil
        // Vivaldi learns from the round trip this reply measured (no extra traffic).
        if let peerCoordinate {
            let rtt = now - query.sentAt
            let milliseconds = Double(rtt.components.seconds) * 1000 + Double(rtt.components.attoseconds) / 1e15
            if configuration.vivaldiFiltersContacts {
                vivaldi.update(rtt: milliseconds, remote: peerCoordinate, neighbour: response.id)
            } else {
                vivaldi.update(rtt: milliseconds, remote: peerCoordinate)
            }
        }
        noteContact(NodeContact(id: response.id, endpoint: source), kind: .response,
                    coordinate: peerCoordinate.map(PackedCoordinate.init) ?? .unknown, now: now, into: &actions)
        if let expected = query.nodeID, expected != response.id {
            // Another node answers at that endpoint now: the one we asked is gone.
            failPurpose(query.purpose, nodeID: expected, reason: "node id changed", now: now, into: &actions)
            return
        }
        switch query.purpose {
        case .ping(let request):
            if let request { actions.append(.completed(request, .pong(id: response.id, roundTrip: now - query.sentAt, key: peerKey))) }
        case .maintenance:
            break
        case .dialBack(let endpoint):
            dialBacks.remove(endpoint)  // the contact was noted above: this answer is what let it in
            // The table remembers a member; only a sender left out is remembered apart (spec
            // 0021 §4.1): every newcomer of a join would otherwise be held twice for 10 minutes.
            if table.entry(for: response.id)?.endpoint != endpoint { rememberDialBack(endpoint, passed: true, now: now) }
        case .bootstrapSeed(let operationID):
            if let index = operations.index(of: operationID) { operations[index].seedContacts += contacts(in: response) }
            seedFinished(operationID, now: now, into: &actions)
        case .lookup(let operationID):
            // A resent query's twin (spec 0007 §5.5) is answered too: forget it.
            pending.removeAll { $0.purpose == query.purpose && $0.nodeID == response.id }
            let (closer, expected) = closerContacts(in: response, now: now)
            guard let index = operations.index(of: operationID),
                  operations[index].lookup.succeeded(response.id, closerNodes: closer, expectedRoundTrips: expected, now: now) else { break }
            let verifier = configuration.verifier
            let valuesBefore = operations[index].peersFound.count + operations[index].foundOn
            Self.collect(response, from: response.id, into: &operations[index], verifier: verifier)
            if operations[index].firstValueAt == nil, operations[index].peersFound.count + operations[index].foundOn > valuesBefore {
                operations[index].firstValueAt = now
            }
            advance(operationID, now: now, into: &actions)
        case .store(let operationID):
            if let index = operations.index(of: operationID) { operations[index].storedOn += 1 }
            storeFinished(operationID, now: now, into: &actions)
        }
    }

    mutating func handleError(
        _ error: KRPCErrorMessage, transactionID: [UInt8], from source: Endpoint, now: Timestamp, into actions: inout [Action]
    ) {
        guard let query = claimPending(transactionID, from: source) else { return }
        counters.errorsReceived += 1
        failPurpose(query.purpose, nodeID: query.nodeID, reason: "error \(error.code): \(error.message)", now: now, into: &actions)
    }

    /// Removes and returns the pending query a reply answers; `nil` (counted) when there is none
    /// or the reply comes from another endpoint than the one asked (a spoofing attempt).
    private mutating func claimPending(_ transactionID: [UInt8], from source: Endpoint) -> PendingQuery? {
        guard let transaction = KRPCTransactionID(bytes: transactionID), let query = pending.query(for: transaction) else {
            counters.drop("unexpected-reply")
            return nil
        }
        guard query.endpoint == source else {
            counters.drop("wrong-source")
            return nil
        }
        pending.remove(transaction)
        return query
    }

    /// Fails every query whose deadline has passed.
    mutating func expireQueries(now: Timestamp, into actions: inout [Action]) {
        for query in pending.removeExpired(now: now) {
            counters.timeouts += 1
            if case .lookup = query.purpose { rememberSilent(query.endpoint, now: now) }
            let reason = "no answer from \(query.endpoint) within \(configuration.queryTimeout)"
            failPurpose(query.purpose, nodeID: query.nodeID, reason: reason, now: now, into: &actions)
        }
    }

    /// What a failed query (error reply, timeout, or no capacity to send it) means for its purpose.
    mutating func failPurpose(
        _ purpose: PendingQuery.Purpose, nodeID: NodeID?, reason: @autoclosure () -> String, now: Timestamp,
        into actions: inout [Action]
    ) {
        if let nodeID { _ = table.failed(nodeID, now: now) }
        switch purpose {
        case .ping(let request):
            if let request { actions.append(.completed(request, .failed(reason()))) }
        case .maintenance:
            break
        case .dialBack(let endpoint):
            counters.dialBacksFailed += 1
            dialBacks.remove(endpoint)
            rememberDialBack(endpoint, passed: false, now: now)
        case .bootstrapSeed(let operationID):
            seedFinished(operationID, now: now, into: &actions)
        case .lookup(let operationID):
            guard let nodeID, let index = operations.index(of: operationID) else { return }
            operations[index].lookup.failed(nodeID, now: now)
            advance(operationID, now: now, into: &actions)
        case .store(let operationID):
            storeFinished(operationID, now: now, into: &actions)
        }
    }

    /// Remembers a dial-back's outcome for ``Configuration/dialBackMemory`` (at most 4096
    /// endpoints, all forgotten when full: forgetting costs one more ping each).
    mutating func rememberDialBack(_ endpoint: Endpoint, passed: Bool, now: Timestamp) {
        if dialedBack.count >= 4096 { dialedBack.removeAll() }
        dialedBack[endpoint] = (passed, now + configuration.dialBackMemory)
    }

    /// Leaves `endpoint` out of what later lookups learn for ``Configuration/silentMemory`` (at
    /// most 4096 endpoints, all forgotten when full: forgetting costs one more timeout each).
    mutating func rememberSilent(_ endpoint: Endpoint, now: Timestamp) {
        guard configuration.silentMemory > .zero else { return }
        if silent.count >= 4096 { silent.removeAll() }
        silent[endpoint] = now + configuration.silentMemory
    }

    /// Records in the routing table that we heard from `contact`; pings a questionable node when
    /// the table asks (BEP 5), and a member that failed our last queries but queries us now: it
    /// has come back, and its answer makes it usable again (`spec/0004-dht-routing.md` §5.3; a
    /// query alone does not, as anyone can forge one).
    mutating func noteContact(_ contact: NodeContact, kind: RoutingTable.Contact, coordinate: PackedCoordinate = .unknown,
                              now: Timestamp, into actions: inout [Action]) {
        let outcome = table.heardFrom(contact, kind: kind, now: now, coordinate: coordinate)
        if case .pending(let questionable) = outcome {
            maintenancePing(questionable, now: now, into: &actions)
        } else if kind == .query, case .updated = outcome, let member = table.entry(for: contact.id), member.failures > 0 {
            maintenancePing(member.contact, now: now, into: &actions)
        }
    }

    /// Pings a routing-table member for the table's sake, unless a query to it is already out;
    /// returns whether it did.
    @discardableResult
    mutating func maintenancePing(_ member: NodeContact, now: Timestamp, into actions: inout [Action]) -> Bool {
        guard !pending.contains(where: { $0.nodeID == member.id }) else { return false }
        sendQuery(.ping, to: member.endpoint, nodeID: member.id, purpose: .maintenance, now: now, into: &actions)
        return true
    }

    /// A lookup reply's contacts, less those that stayed silent lately, each with the round trip
    /// our coordinate and the one the responder gave for it predict (`plnc`, `spec/0013` §4.2;
    /// empty when the responder gave none or lookups do not use them).
    private func closerContacts(in response: KRPCMessage.Response, now: Timestamp) -> ([NodeContact], [Duration?]) {
        let all = contacts(in: response)
        let keep = { (contact: NodeContact) in self.silent[contact.endpoint].map { $0 <= now } ?? true }
        guard let coordinates = response.nodeCoordinates, coordinates.count == all.count,
              configuration.lookup.expectedRoundTripFactor != nil else { return (all.filter(keep), []) }
        let own = PackedCoordinate(vivaldi.report)
        var closer: [NodeContact] = [], expected: [Duration?] = []
        for (contact, coordinate) in zip(all, coordinates) where keep(contact) {
            closer.append(contact)
            expected.append(own.roundTrip(to: coordinate))
        }
        return (closer, expected)
    }

    func contacts(in response: KRPCMessage.Response) -> [NodeContact] {
        guard let nodes6 = response.nodes6, !nodes6.isEmpty else { return response.nodes ?? [] }
        return (response.nodes ?? []) + nodes6
    }

    /// Keeps what a lookup step returned besides contacts: tokens, peers, items.
    private static func collect(
        _ response: KRPCMessage.Response, from responder: NodeID, into operation: inout Operation, verifier: SignatureVerifier
    ) {
        if let token = response.token { operation.tokens[responder] = token }
        if let values = response.values {
            for peer in values where operation.peersFound.count < 1000 && !operation.peersFound.contains(peer) {
                operation.peersFound.append(peer)
            }
            // Potluck's `plks`: the announcers' keys, aligned with `values` (an empty string for none).
            if case .list(let keys)? = response.extraFields[DHTNode.announcerKeysField], keys.count == values.count {
                for (peer, key) in zip(values, keys) {
                    if case .bytes(let bytes) = key, bytes.count == 32, let key = try? PublicKey(bytes: bytes) { operation.peerKeys[peer] = key }
                }
            }
        }
        guard let value = response.value,
              let item = verifiedItem(value: value, response: response, target: operation.target, salt: operation.salt,
                                      verifier: verifier) else { return }
        operation.foundOn += 1
        if case .mutable(let new) = item, case .mutable(let best)? = operation.bestItem, best.sequence >= new.sequence { return }
        operation.bestItem = item
    }

    /// An item from a `get` reply, if it really is the item at `target` (BEP 44: the hash of
    /// an immutable value, a valid signature for a mutable one).
    private static func verifiedItem(
        value: [UInt8], response: KRPCMessage.Response, target: NodeID, salt: [UInt8], verifier: SignatureVerifier
    ) -> Item? {
        guard let keyBytes = response.publicKey, let signatureBytes = response.signature, let sequence = response.sequence else {
            let item = ImmutableItem(value: value)
            return item.target == target ? .immutable(item) : nil
        }
        guard let key = try? PublicKey(bytes: keyBytes), let signature = try? Signature(bytes: signatureBytes) else { return nil }
        // The salt is not sent back (BEP 44): the requester knows it, as it computed the target.
        let item = MutableItem(key: key, salt: salt, sequence: sequence, value: value, signature: signature)
        guard item.target == target, (try? item.validate(verifier: verifier)) != nil else { return nil }
        return .mutable(item)
    }
}
