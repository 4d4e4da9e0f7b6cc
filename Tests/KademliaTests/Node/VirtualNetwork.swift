import Kademlia

/// A deterministic in-memory network of ``DHTNode``s: datagrams are delivered after a fixed
/// latency in virtual time, in order of (time, sequence). No sockets, no clock — the same
/// machines the real node drives, advanced to each next event.
struct VirtualNetwork {
    struct Delivery {
        var at: Timestamp
        var sequence: Int
        var bytes: [UInt8]
        var from: Endpoint
        var to: Endpoint
    }

    var nodes: [Endpoint: DHTNode] = [:]
    var order: [Endpoint] = []
    var inFlight: [Delivery] = []
    var now = Timestamp.seconds(1)
    var sequence = 0
    var latency: Duration = .milliseconds(20)
    /// Endpoints that swallow every datagram (dead nodes).
    var silent: Set<Endpoint> = []
    /// Endpoints behind a NAT: they answer, but a dial-back to them never arrives.
    var behindNAT: Set<Endpoint> = []
    var completions: [RequestID: DHTNode.Outcome] = [:]
    var nextRequest: RequestID = 1
    var persisted: [Endpoint: Int] = [:]
    var externalAddresses: [Endpoint: Endpoint.Address] = [:]

    static func endpoint(_ index: Int) -> Endpoint {
        Endpoint(address: .v4(0x7f00_0000 | UInt32(index + 1)), port: 6881)
    }

    mutating func addNode(index: Int, id: NodeID, configuration: DHTNode.Configuration = .init()) -> Endpoint {
        let endpoint = Self.endpoint(index)
        nodes[endpoint] = DHTNode(id: id, configuration: configuration, seed: UInt64(index) &+ 1, now: now)
        order.append(endpoint)
        return endpoint
    }

    /// Starts a command on a node and returns its request id.
    mutating func start(_ command: DHTNode.Command, on endpoint: Endpoint) -> RequestID {
        let request = nextRequest
        nextRequest += 1
        let actions = nodes[endpoint]!.start(command, request: request, now: now)
        perform(actions, at: endpoint)
        return request
    }

    /// Runs until `request` completes (or the bound on events is hit) and returns its outcome.
    mutating func run(until request: RequestID, maxEvents: Int = 200_000) -> DHTNode.Outcome? {
        var events = 0
        while completions[request] == nil, events < maxEvents, step() { events += 1 }
        return completions[request]
    }

    /// Runs for `duration` of virtual time.
    mutating func run(for duration: Duration) {
        let end = now + duration
        while step(until: end) {}
        now = end
    }

    /// Delivers the next datagram or fires the next timer; false when nothing is left.
    mutating func step(until end: Timestamp = .max) -> Bool {
        let nextDelivery = inFlight.indices.min { (inFlight[$0].at, inFlight[$0].sequence) < (inFlight[$1].at, inFlight[$1].sequence) }
        let nextTimer = order.min { nodes[$0]!.nextWakeup < nodes[$1]!.nextWakeup }
        let deliveryTime = nextDelivery.map { inFlight[$0].at } ?? .max
        let timerTime = nextTimer.map { nodes[$0]!.nextWakeup } ?? .max
        guard min(deliveryTime, timerTime) <= end, min(deliveryTime, timerTime) < .max else { return false }
        if deliveryTime <= timerTime, let index = nextDelivery {
            let delivery = inFlight.remove(at: index)
            now = max(now, delivery.at)
            guard !silent.contains(delivery.to), nodes[delivery.to] != nil else { return true }
            let actions = nodes[delivery.to]!.receive(delivery.bytes, from: delivery.from, now: now)
            perform(actions, at: delivery.to)
        } else if let endpoint = nextTimer {
            now = max(now, timerTime)
            let actions = nodes[endpoint]!.wake(now: now)
            perform(actions, at: endpoint)
        }
        return true
    }

    mutating func perform(_ actions: [DHTNode.Action], at endpoint: Endpoint) {
        for action in actions {
            switch action {
            case .send(let bytes, let to):
                sequence += 1
                inFlight.append(Delivery(at: now + latency, sequence: sequence, bytes: bytes, from: endpoint, to: to))
            case .sendMessage(let message, let to):
                perform([.send(message.encoded(), to: to)], at: endpoint)
            case .dialBack(let bytes, let to):
                // One address per node here: the reply comes back to the node's own endpoint.
                if !behindNAT.contains(to) { perform([.send(bytes, to: to)], at: endpoint) }
            case .completed(let request, let outcome):
                completions[request] = outcome
            case .itemStored:
                persisted[endpoint, default: 0] += 1
            case .itemRemoved:
                persisted[endpoint, default: 0] -= 1
            case .externalAddress(let address):
                externalAddresses[endpoint] = address
            case .nodeIDChanged:
                break
            }
        }
    }

    /// Every node bootstraps from node 0, one after another.
    mutating func bootstrapAll() {
        let first = order[0]
        for endpoint in order.dropFirst() {
            let request = start(.bootstrap([first]), on: endpoint)
            _ = run(until: request)
        }
    }
}
