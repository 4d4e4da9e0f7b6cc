import Bencode
import Coordinates
import PotluckCrypto

/// Answering queries from other nodes (BEP 5, 32, 42, 43, 44, 51).
extension DHTNode {
    /// The reply to one query, after rate limiting and routing-table bookkeeping.
    mutating func answer(
        _ query: KRPCMessage.Query, message: KRPCMessage, from source: Endpoint, now: Timestamp, into actions: inout [Action]
    ) {
        counters.countQuery(query.method)
        guard !configuration.readOnly else {  // BEP 43: read-only nodes do not answer
            counters.drop("read-only")
            return
        }
        let known = table.entry(for: query.id).map { $0.endpoint == source && $0.lastResponse != nil } ?? false
        if let refusal = rateLimiter.admit(source.address, known: known, now: now) {
            counters.drop(refusal.rawValue)
            return
        }
        // BEP 43: a read-only querier must not enter our table. Never add ourselves. A querier
        // not in the table yet enters it once it answers a dial-back, if there is room for it
        // (spec 0021 §4.1); one that would only wait as a replacement is not noted at all.
        if !message.readOnly, query.id != id {
            let contact = NodeContact(id: query.id, endpoint: source)
            if configuration.dialBack, table.entry(for: query.id)?.contact.endpoint != source {
                if table.hasRoom(for: contact, now: now) { dialBack(contact, now: now, into: &actions) }
            } else {
                noteContact(contact, kind: .query, coordinate: message.coordinate.map(PackedCoordinate.init) ?? .unknown,
                            now: now, into: &actions)
            }
        }
        var persisted: [StoredItem] = []
        let reply = respond(to: query, from: source, now: now, persisted: &persisted)
        if case .announcePeer(let announce) = query.method, case .response = reply, let key = message.senderKey {
            noteAnnouncer(key, at: Endpoint(address: source.address, port: announce.impliedPort ? source.port : announce.port))
        }
        if case .error = reply { counters.errorsSent += 1 }
        // Persist before acknowledging: the driver performs actions in order, so an acknowledged
        // put is on disk before its reply leaves.
        for item in persisted { actions.append(.itemStored(item)) }
        // BEP 42: tell the querier the address we see it at.
        let answer = KRPCMessage(transactionID: message.transactionID, kind: reply,
                                 clientVersion: configuration.clientVersion, senderIP: source)
        actions.append(send(consume answer, to: source))
    }

    /// Pings `contact` from another port, unless it answered one lately (then it is noted as a
    /// querier), failed one lately, one is in flight, or too many are.
    private mutating func dialBack(_ contact: NodeContact, now: Timestamp, into actions: inout [Action]) {
        if let last = dialedBack[contact.endpoint] {
            if last.until > now {
                if last.passed { noteContact(contact, kind: .query, now: now, into: &actions) }
                return
            }
            dialedBack[contact.endpoint] = nil
        }
        guard !dialBacks.contains(contact.endpoint), dialBacks.count < configuration.maxDialBacks else { return }
        sendQuery(.ping, to: contact.endpoint, nodeID: contact.id, purpose: .dialBack(contact.endpoint), now: now, into: &actions)
    }

    private mutating func respond(
        to query: KRPCMessage.Query, from source: Endpoint, now: Timestamp, persisted: inout [StoredItem]
    ) -> KRPCMessage.Kind {
        var response = KRPCMessage.Response(id: id)
        switch query.method {
        case .ping:
            break
        case .findNode(let target):
            addNodes(to: &response, closestTo: target, for: query, from: source)
        case .getPeers(let infoHash):
            response.token = tokens.token(for: source.address)
            let found = peers.peers(for: infoHash, now: now, limit: 50, family: PeerStore.Family(source))
            if found.isEmpty { addNodes(to: &response, closestTo: infoHash, for: query, from: source) }
            else {
                response.values = found
                if found.contains(where: { announcerKeys[$0] != nil }) {
                    response.extraFields[DHTNode.announcerKeysField] = .list(found.map { .bytes(announcerKeys[$0]?.bytes ?? []) })
                }
            }
        case .announcePeer(let announce):
            guard tokens.isValid(announce.token, for: source.address) else {
                return .error(KRPCErrorMessage(code: KRPCErrorMessage.protocolError, message: "invalid token"))
            }
            let port = announce.impliedPort ? source.port : announce.port
            peers.announce(infoHash: announce.infoHash, peer: Endpoint(address: source.address, port: port), now: now)
        case .get(let target, let sequence):
            response.token = tokens.token(for: source.address)
            addItem(to: &response, target: target, ifNewerThan: sequence, now: now)
            addNodes(to: &response, closestTo: target, for: query, from: source)
        case .put(let put):
            switch storeItem(put, from: source, now: now) {
            case .stored(let stored): persisted.append(stored)
            case .refused(let error): return .error(error)
            }
        case .sampleInfohashes(let target):
            response.samples = peers.sample(count: 20, using: &random)
            response.storedCount = Int64(peers.infoHashCount)
            response.interval = 60
            addNodes(to: &response, closestTo: target, for: query, from: source)
        case .unknown:
            // libtorrent's rule: an unknown query with a target is answered like find_node.
            guard let target = query.impliedTarget else { return .error(.standard(KRPCErrorMessage.methodUnknown)) }
            addNodes(to: &response, closestTo: target, for: query, from: source)
        }
        return .response(response)
    }

    /// Fills `nodes` and/or `nodes6` (BEP 32: as asked by `want`, else the querier's family).
    private mutating func addNodes(to response: inout KRPCMessage.Response, closestTo target: NodeID,
                                   for query: KRPCMessage.Query, from source: Endpoint) {
        let wantV4 = query.want.isEmpty ? source.address.family == .v4 : query.want.contains(.n4)
        let wantV6 = query.want.isEmpty ? source.address.family == .v6 : query.want.contains(.n6)
        let v4 = wantV4 ? replyMembers(closestTo: target, family: .v4) : []
        let v6 = wantV6 ? replyMembers(closestTo: target, family: .v6) : []
        if wantV4 { response.nodes = v4.map(\.contact) }
        if wantV6 { response.nodes6 = v6.map(\.contact) }
        // Potluck's `plnc` (spec 0013 §4.2): the coordinates held for them, when any is known.
        if v4.contains(where: \.coordinate.isKnown) || v6.contains(where: \.coordinate.isKnown) {
            response.nodeCoordinates = (v4 + v6).map(\.coordinate)
        }
    }

    /// The k members of `family` closest to `target`, from ``ReplyMemo`` when the same target
    /// was asked last and the table has not changed since.
    private mutating func replyMembers(closestTo target: NodeID, family: Endpoint.Address.Family) -> [RoutingTable.Entry] {
        let askedAgain = replyMemo.target == target && replyMemo.family == family
            && replyMemo.generation == table.generation
        if askedAgain, let nodes = replyMemo.nodes { return nodes }
        let nodes = table.closestMembers(to: target, count: configuration.routing.bucketSize, family: family, onlyVerified: true)
        replyMemo = ReplyMemo(target: target, family: family, generation: table.generation, nodes: askedAgain ? nodes : nil)
        return nodes
    }

    private func addItem(to response: inout KRPCMessage.Response, target: NodeID, ifNewerThan sequence: Int64?, now: Timestamp) {
        switch items.get(target, now: now) {
        case .immutable(let item)?:
            response.value = item.value
        case .mutable?:
            switch items.getMutable(target, ifNewerThan: sequence, now: now) {
            case .item(let item)?:
                response.value = item.value
                response.publicKey = item.key.bytes
                response.signature = item.signature.bytes
                response.sequence = item.sequence
            case .unchanged(let stored)?:
                response.sequence = stored
            case nil:
                break
            }
        case nil:
            break
        }
    }

    /// Stores a BEP 44 `put`: the stored item (for the driver to persist), or the error to send back.
    private enum PutAnswer {
        case stored(StoredItem)
        case refused(KRPCErrorMessage)
    }

    private mutating func storeItem(
        _ put: KRPCMessage.PutRequest, from source: Endpoint, now: Timestamp
    ) -> PutAnswer {
        guard tokens.isValid(put.token, for: source.address) else {
            return .refused(KRPCErrorMessage(code: KRPCErrorMessage.protocolError, message: "invalid token"))
        }
        do throws(ItemError) {
            let item: Item
            if let fields = put.mutable {
                guard let key = try? PublicKey(bytes: fields.publicKey), let signature = try? Signature(bytes: fields.signature) else {
                    return .refused(KRPCErrorMessage(code: KRPCErrorMessage.invalidSignature,
                                                     message: "invalid signature: k must be 32 bytes and sig 64"))
                }
                let mutable = MutableItem(key: key, salt: fields.salt ?? [], sequence: fields.sequence, value: put.value, signature: signature)
                try items.put(mutable: mutable, cas: fields.cas, from: source.address, now: now, verifier: configuration.verifier)
                item = .mutable(mutable)
            } else {
                let immutable = ImmutableItem(value: put.value)
                try items.put(immutable: immutable, from: source.address, now: now)
                item = .immutable(immutable)
            }
            return .stored(StoredItem(item: item, storedAt: now, owner: source.address))
        } catch {
            return .refused(KRPCErrorMessage(code: error.code, message: error.message))
        }
    }
}
