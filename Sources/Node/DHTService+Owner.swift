import PotluckCrypto
import JobChannel
import Kademlia
import Logging
import Reachability
import NIOCore

extension DHTService {
    /// The one task that owns the state machine: it handles events in order until the event
    /// stream ends (graceful shutdown), then saves the routing table.
    func ownerLoop(
        events: Mailbox<Event>, channels: [any NIOCore.Channel], bound: [Endpoint], dialBack: [(any NIOCore.Channel, Endpoint)]
    ) async throws {
        let nodeID = try persistence.nodeID(bep42: true)
        var configuration = options.dht
        configuration.identity = identity.publicKey  // sent as `plk` so peers can map endpoints to keys
        // On a private address a NAT may hide the node: until it knows, others should not keep it
        // (spec 0021 §4); ReachabilityMonitor changes this as soon as it knows.
        if let dht = bound.first { configuration.staysOutOfTables = Reachability.mayBeBehindNAT(ReachabilityMonitor.shown(dht).address) }
        var node = DHTNode(id: nodeID, configuration: configuration, seed: SecureRandom.uint64(), now: clock.now)
        var owner = Owner(channels: channels, bound: bound, dialBack: dialBack)
        for saved in try persistence.loadStored() {
            node.restore(StoredItem(item: saved.item, storedAt: clock.timestamp(ofUnixMilliseconds: saved.unixMilliseconds), owner: saved.owner))
        }
        onReady(bound, nodeID)
        logger.info("DHT node \(nodeID) listening on \(bound.map(\.description).joined(separator: ", "))")

        // The saved table at once; `--bootstrap` hosts through ``Bootstrapper`` (names resolved, retried).
        let saved = (try persistence.loadContacts()).map(\.endpoint)
        if !saved.isEmpty {
            owner.perform(node.start(.bootstrap(saved), request: nil, now: clock.now), persist: persist)
        } else if !options.bootstrap.isEmpty {
            logger.info("joining through \(options.bootstrap.joined(separator: ", "))")
        } else if options.useDefaultBootstrap {
            logger.notice("no saved contacts and no --bootstrap: looking for Potluck peers through the public DHT")
        } else {
            logger.notice("no saved contacts, no --bootstrap and --no-default-bootstrap: waiting for peers to find this node")
        }
        // Own items (the offer) are published again once the table has someone to store them:
        // started at once, their puts would find no one when every saved contact is still
        // joining, and the items would stay unpublished until their refresh (issue 20).
        var unpublished = try persistence.loadOwn()

        var nextSave = clock.now + options.contactSaveInterval
        var savedContacts: [NodeContact] = []
        while let batch = await events.takeAll() {
            let now = clock.now
            for event in batch {
                switch event {
                case .datagram(let bytes, let source):
                    owner.perform(node.receive(bytes, from: source, now: now), persist: persist, flush: false)
                case .tick:
                    break
                case .command(let command, let continuation):
                    let request = owner.register(continuation)
                    owner.perform(node.start(command, request: request, now: now), persist: persist, flush: false)
                case .inspect(let read):
                    read(node)
                case .observed(let continuation):
                    continuation.resume(returning: (node.observedEndpoints, (node.configuration.readOnly, node.configuration.staysOutOfTables),
                                                    node.status.routingTableSize))
                case .lookupSelf:
                    owner.perform(node.start(.findNode(node.id), request: nil, now: now), persist: persist, flush: false)
                case .setPresence(let readOnly, let staysOut):
                    let wasHidden = node.configuration.readOnly || node.configuration.staysOutOfTables
                    node.setPresence(readOnly: readOnly, staysOutOfTables: staysOut)
                    // Newly reachable: a lookup of its own id puts it in its neighbours' tables.
                    if wasHidden && !readOnly && !staysOut {
                        owner.perform(node.start(.findNode(node.id), request: nil, now: now), persist: persist, flush: false)
                    }
                case .tunnel(let tunnel):
                    owner.tunnel = tunnel
                    // Through a tunnel, others report the relay's address: not one to take an id for.
                    node.setAdoptsSecureID(tunnel == nil)
                case .publicAddress(let address):
                    owner.perform(node.adoptSecureID(for: address, now: now), persist: persist, flush: false)
                case .join(let endpoints):
                    owner.perform(node.start(.bootstrap(endpoints), request: nil, now: now), persist: persist, flush: false)
                case .published(let item):
                    do { try persistence.saveOwn(item) } catch { logger.error("cannot save an own item: \(error)") }
                }
            }
            if now >= node.nextWakeup {
                owner.perform(node.wake(now: now), persist: persist, flush: false)
            }
            if !unpublished.isEmpty, node.status.routingTableSize > 0 {
                for item in unpublished { owner.perform(node.start(.put(item), request: nil, now: now), persist: persist, flush: false) }
                unpublished = []
            }
            owner.flush()  // one hand-over to the event loop for the whole batch
            if now >= nextSave {
                nextSave = now + options.contactSaveInterval
                let contacts = node.routingContacts
                if contacts != savedContacts {
                    saveContacts(node)
                    savedContacts = contacts
                }
            }
        }
        saveContacts(node)
        owner.failAll("the node is shutting down")
        logger.info("DHT node stopped; routing table saved (\(node.status.routingTableSize) contacts)")
    }

    /// Writes what the state machine asks to persist; a put is acknowledged only after this.
    private func persist(_ action: DHTNode.Action) {
        do {
            switch action {
            case .itemStored(let stored): try persistence.saveStored(stored, unixMilliseconds: clock.unixMilliseconds)
            case .itemRemoved(let target): try persistence.removeStored(target)
            case .externalAddress(let address):
                try persistence.saveExternalAddress(address)
                logger.info("other nodes see this node at \(Endpoint(address: address, port: 0).addressText)")
            case .nodeIDChanged(let id):
                try persistence.saveNodeID(id)
                logger.info("took the DHT node id \(id), bound to this node's public address (BEP 42)")
            default: break
            }
        } catch {
            logger.error("cannot persist \(action): \(error)")
        }
    }

    private func saveContacts(_ node: DHTNode) {
        do { try persistence.saveContacts(node.routingContacts) } catch { logger.error("cannot save the routing table: \(error)") }
    }
}

/// The owner task's own mutable state: the sockets to send on and the continuations of commands
/// waiting for their completion.
///
/// Datagrams are handed to the socket's event loop in one batch per call of ``perform(_:persist:)``
/// without suspending the owner (an awaited write per datagram cost more than the whole state
/// machine; see the `dht-serve` benchmark).
struct Owner {
    let channels: [any NIOCore.Channel]
    let families: [Endpoint.Address.Family]
    var waiting: [RequestID: CheckedContinuation<DHTNode.Outcome, Never>] = [:]
    var nextRequest: RequestID = 1
    var sendFailures = 0
    /// Socket addresses of recent destinations (making one formats and parses text).
    var addressCache: [Endpoint: SocketAddress] = [:]
    /// Completions nobody registered a continuation for (requests the driver started itself).
    var unclaimed: [(RequestID, DHTNode.Outcome)] = []

    /// Datagrams produced and not yet handed to the event loops, per socket.
    var outgoing: [[AddressedEnvelope<ByteBuffer>]]
    /// While UDP is blocked, the relay's tunnel that carries every datagram instead of the
    /// sockets (`spec/0021` §5.4), and the datagrams waiting for it.
    var tunnel: DatagramTunnel?
    var tunnelled: [(bytes: [UInt8], to: WireEndpoint)] = []

    /// The first of the dial-back sockets in `channels` (`spec/0021` §4.1), after the sockets
    /// the node answers on.
    let dialBackStart: Int

    /// `dialBack` are sockets on other ports, one per address family, for dial-backs; without
    /// them a dial-back leaves from the node's own socket.
    init(channels: [any NIOCore.Channel], bound: [Endpoint], dialBack: [(any NIOCore.Channel, Endpoint)] = []) {
        self.channels = channels + dialBack.map(\.0)
        outgoing = Array(repeating: [], count: channels.count + dialBack.count)
        families = bound.map(\.address.family) + dialBack.map(\.1.address.family)
        dialBackStart = channels.count
    }

    mutating func register(_ continuation: CheckedContinuation<DHTNode.Outcome, Never>) -> RequestID {
        defer { nextRequest += 1 }
        waiting[nextRequest] = continuation
        return nextRequest
    }

    mutating func failAll(_ reason: String) {
        for continuation in waiting.values { continuation.resume(returning: .failed(reason)) }
        waiting.removeAll()
    }

    /// Carries out the state machine's actions, in order: `persist` handles item records.
    mutating func perform(_ actions: [DHTNode.Action], persist: (DHTNode.Action) -> Void, flush flushNow: Bool = true) {
        defer { if flushNow { flush() } }
        for action in actions {
            switch action {
            case .sendMessage(let message, let destination):
                perform([.send(message.encoded(), to: destination)], persist: persist, flush: false)
            case .send(let bytes, let destination):
                enqueue(bytes, to: destination, on: families[..<dialBackStart].firstIndex(of: destination.address.family))
            case .dialBack(let bytes, let destination):
                let family = destination.address.family
                enqueue(bytes, to: destination, on: families[dialBackStart...].firstIndex(of: family) ?? families.firstIndex(of: family))
            case .completed(let request, let outcome):
                if let continuation = waiting.removeValue(forKey: request) {
                    continuation.resume(returning: outcome)
                } else {
                    unclaimed.append((request, outcome))
                }
            case .itemStored, .itemRemoved, .nodeIDChanged:
                persist(action)
            case .externalAddress:
                // Through a tunnel, others see the relay's address, not this node's.
                if tunnel == nil { persist(action) }
            }
        }
    }

    private mutating func enqueue(_ bytes: [UInt8], to destination: Endpoint, on index: Int?) {
        if tunnel != nil {
            guard let wire = WireEndpoint(host: destination.addressText, port: Int(destination.port)) else { return sendFailures += 1 }
            return tunnelled.append((bytes, wire))
        }
        guard let index, let address = socketAddress(of: destination) else {
            sendFailures += 1
            return
        }
        outgoing[index].append(AddressedEnvelope(remoteAddress: address, data: ByteBuffer(bytes: bytes)))
    }

    private mutating func socketAddress(of endpoint: Endpoint) -> SocketAddress? {
        if let cached = addressCache[endpoint] { return cached }
        guard let address = try? endpoint.socketAddress() else { return nil }
        if addressCache.count >= 4096 { addressCache.removeAll(keepingCapacity: true) }
        addressCache[endpoint] = address
        return address
    }

    /// Hands every datagram waiting to be sent to its socket's event loop, one task per socket.
    mutating func flush() {
        if let tunnel, !tunnelled.isEmpty {
            sendFailures += tunnel.send(tunnelled)
            tunnelled.removeAll(keepingCapacity: true)
        }
        defer { for index in outgoing.indices { outgoing[index].removeAll(keepingCapacity: true) } }
        for (channel, batch) in zip(channels, outgoing) where !batch.isEmpty {
            channel.eventLoop.execute {
                for envelope in batch { channel.write(envelope, promise: nil) }
                channel.flush()
            }
        }
    }
}
