import Crypto
import Kademlia
import Logging
import NIOCore

extension DHTService {
    /// The one task that owns the state machine: it handles events in order until the event
    /// stream ends (graceful shutdown), then saves the routing table.
    func ownerLoop(
        events: AsyncStream<Event>, writers: [NIOAsyncChannelOutboundWriter<AddressedEnvelope<ByteBuffer>>], bound: [Endpoint]
    ) async throws {
        let nodeID = try persistence.nodeID { NodeID(bytes: SecureRandom.bytes(NodeID.byteCount))! }
        var node = DHTNode(id: nodeID, configuration: options.dht, seed: SecureRandom.uint64(), now: clock.now)
        var owner = Owner(writers: writers, bound: bound)
        for saved in try persistence.loadStored() {
            node.restore(StoredItem(item: saved.item, storedAt: clock.timestamp(ofUnixMilliseconds: saved.unixMilliseconds), owner: saved.owner))
        }
        onReady(bound, nodeID)
        logger.info("DHT node \(nodeID) listening on \(bound.map(\.description).joined(separator: ", "))")

        let joinThrough = (try persistence.loadContacts()).map(\.endpoint) + options.bootstrap
        if !joinThrough.isEmpty {
            await owner.perform(node.start(.bootstrap(joinThrough), request: nil, now: clock.now), service: self)
        } else {
            logger.warning("no saved contacts and no --bootstrap: waiting for other nodes to contact this one")
        }
        for item in try persistence.loadOwn() {
            await owner.perform(node.start(.put(item), request: nil, now: clock.now), service: self)
        }

        var nextSave = clock.now + options.contactSaveInterval
        var savedContacts: [NodeContact] = []
        for await event in events {
            let now = clock.now
            switch event {
            case .datagram(let bytes, let source):
                await owner.perform(node.receive(bytes, from: source, now: now), service: self)
            case .tick:
                break
            case .command(let command, let continuation):
                let request = owner.register(continuation)
                await owner.perform(node.start(command, request: request, now: now), service: self)
            case .inspect(let read, let continuation):
                continuation.resume(returning: read(node))
            case .published(let item):
                do { try persistence.saveOwn(item) } catch { logger.error("cannot save an own item: \(error)") }
            }
            if now >= node.nextWakeup {
                await owner.perform(node.wake(now: now), service: self)
            }
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

    private func saveContacts(_ node: DHTNode) {
        do { try persistence.saveContacts(node.routingContacts) } catch { logger.error("cannot save the routing table: \(error)") }
    }
}

/// The owner task's own mutable state: outbound writers and the continuations of commands
/// waiting for their completion.
struct Owner {
    let writers: [NIOAsyncChannelOutboundWriter<AddressedEnvelope<ByteBuffer>>]
    let families: [Endpoint.Address.Family]
    var waiting: [RequestID: CheckedContinuation<DHTNode.Outcome, Never>] = [:]
    var nextRequest: RequestID = 1
    var sendFailures = 0

    init(writers: [NIOAsyncChannelOutboundWriter<AddressedEnvelope<ByteBuffer>>], bound: [Endpoint]) {
        self.writers = writers
        families = bound.map(\.address.family)
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

    /// Carries out the state machine's actions.
    mutating func perform(_ actions: [DHTNode.Action], service: DHTService) async {
        for action in actions {
            switch action {
            case .send(let bytes, let destination):
                await send(bytes, to: destination, logger: service.logger)
            case .completed(let request, let outcome):
                waiting.removeValue(forKey: request)?.resume(returning: outcome)
            case .itemStored(let stored):
                do { try service.persistence.saveStored(stored, unixMilliseconds: service.clock.unixMilliseconds) }
                catch { service.logger.error("cannot save a stored item: \(error)") }
            case .itemRemoved(let target):
                do { try service.persistence.removeStored(target) } catch { service.logger.error("cannot remove an item: \(error)") }
            }
        }
    }

    private mutating func send(_ bytes: [UInt8], to destination: Endpoint, logger: Logger) async {
        guard let index = families.firstIndex(of: destination.address.family), let address = try? destination.socketAddress() else {
            sendFailures += 1
            return
        }
        do {
            try await writers[index].write(AddressedEnvelope(remoteAddress: address, data: ByteBuffer(bytes: bytes)))
        } catch {
            sendFailures += 1
            logger.debug("cannot send to \(destination): \(error)")
        }
    }
}
