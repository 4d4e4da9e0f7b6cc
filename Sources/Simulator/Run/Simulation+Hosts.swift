// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Kademlia

/// Hosts joining and leaving, datagrams, wake-ups: the engine's side of each ``DHTNode``.
extension Simulation {
    func join(_ host: Int) {
        guard !isOnline(host) else { return }
        let configuration = flags[host].contains(.nat) ? readOnlyConfiguration : nodeConfiguration
        nodes[host] = DHTNode(id: ids[host], configuration: configuration, seed: random.next(), now: Timestamp(nanoseconds: now))
        setOnline(host, true)
        joinedAt[host] = now
        metrics.joins += 1
        bootstrap(host)
        if let churn = scenario.platform.churn, host != 0 {
            let session = Self.nanoseconds(churn.session.sample(using: &random))
            queue.schedule(.leave, at: now + max(session, 1), host: UInt32(host))
        }
    }

    /// Bootstraps through the routing table the host saved when it left, as a restarted node
    /// does (`spec/0010-simulator.md` §4.4), or else through host 0 and `bootstrapContacts − 1`
    /// random online hosts.
    func bootstrap(_ host: Int) {
        var contacts: [Endpoint] = []
        if !savedTables[host].isEmpty {
            contacts = savedTables[host].map { Self.endpoint(Int($0)) }
            savedTables[host] = []  // a retry, after no one answered, goes through host 0
        } else if host != 0 {
            contacts.append(Self.endpoint(0))
            for _ in 1..<max(1, scenario.deployment.bootstrapContacts) {
                if let other = randomOnlineHost(), other != host, other != 0 { contacts.append(Self.endpoint(other)) }
            }
        }
        let request = issue(.bootstrap, host: host)
        perform(nodes[host].start(.bootstrap(contacts), request: request, now: Timestamp(nanoseconds: now)), at: host)
    }

    func retryBootstrap(_ host: Int) {
        guard isOnline(host), !flags[host].contains(.ready) else { return }
        metrics.bootstrapRetries += 1
        bootstrap(host)
    }

    func leave(_ host: Int) {
        guard isOnline(host) else { return }
        let counters = nodes[host].counters
        metrics.queriesSentByCause.merge(counters.queriesSentByCause, uniquingKeysWith: +)
        metrics.joinRefreshes += counters.joinRefreshes
        metrics.periodicRefreshes += counters.periodicRefreshes
        if scenario.deployment.rejoinsFromSavedTable {
            savedTables[host] = nodes[host].routingContacts.compactMap { self.host(at: $0.endpoint).map(UInt32.init) }
        }
        nodes[host] = offlineNode  // frees the node's tables
        setOnline(host, false)
        scheduledWake[host] = .max
        metrics.leaves += 1
        if let churn = scenario.platform.churn {
            let downtime = Self.nanoseconds(churn.downtime.sample(using: &random))
            queue.schedule(.join, at: now + max(downtime, 1), host: UInt32(host))
        }
    }

    func setOnline(_ host: Int, _ online: Bool) {
        accountOnlineTime()
        if online {
            flags[host].insert(.online)
            onlinePosition[host] = UInt32(onlineList.count)
            onlineList.append(UInt32(host))
        } else {
            flags[host].remove([.online, .ready])
            let position = Int(onlinePosition[host])
            let last = onlineList.removeLast()
            if position < onlineList.count {
                onlineList[position] = last
                onlinePosition[Int(last)] = UInt32(position)
            }
            onlinePosition[host] = .max
        }
    }

    /// Adds the online host-seconds since the last change (inside the measurement window).
    func accountOnlineTime() {
        let from = max(lastOnlineChange, measureStart), to = min(now, measureEnd)
        if to > from {
            let hostSeconds = Double(onlineList.count) * Double(to - from) / 1e9
            metrics.onlineHostSeconds += hostSeconds
        }
        if now > lastOnlineChange {
            currentSample.onlineHostSeconds += Double(onlineList.count) * Double(now - lastOnlineChange) / 1e9
        }
        lastOnlineChange = now
    }

    /// A uniformly random online host, if any.
    func randomOnlineHost() -> Int? {
        onlineList.isEmpty ? nil : Int(onlineList[random.below(onlineList.count)])
    }

    /// A random online host whose bootstrap has finished (up to 64 tries).
    func randomReadyHost() -> Int? {
        for _ in 0..<64 {
            guard let host = randomOnlineHost() else { return nil }
            if flags[host].contains(.ready) { return host }
        }
        return nil
    }

    // MARK: Datagrams and timers

    /// Carries out a node's actions: datagrams enter the network, completions reach the metrics.
    ///
    /// The actions are moved out one by one (reversed, then popped), never copied: a copy of a
    /// message retains each of its arrays, and freeing the array would release them again.
    func perform(_ actions: consuming [DHTNode.Action], at host: Int, afterWake: Bool = false) {
        var actions = actions
        drain(&actions, at: host, afterWake: afterWake)
    }

    /// ``perform(_:at:afterWake:)`` on an outbox, left empty (its capacity kept for reuse).
    func drain(_ actions: inout [DHTNode.Action], at host: Int, afterWake: Bool = false) {
        actions.reverse()
        while let action = actions.popLast() {
            switch consume action {
            case .send(let bytes, let destination):
                send(bytes: bytes, message: nil, from: host, to: destination)
            case .sendMessage(let message, let destination):
                send(bytes: [], message: message, from: host, to: destination)
            case .dialBack(let bytes, let destination):
                // A host has one address here; a NATed host drops the unsolicited ping all the
                // same, which is what a dial-back from another port finds out.
                send(bytes: bytes, message: nil, from: host, to: destination)
            case .completed(let request, let outcome):
                completed(request, outcome)
            case .itemStored:
                metrics.itemsStored += 1
            case .itemRemoved:
                metrics.itemsStored -= 1
            case .externalAddress, .nodeIDChanged:
                break  // simulated hosts keep their ids (their 10.x addresses are BEP 42-exempt)
            }
        }
        scheduleWake(host, afterWake: afterWake)
    }

    /// Puts a datagram (its bytes, or with the codec off its message) on the network.
    func send(bytes: consuming [UInt8], message: consuming KRPCMessage?, from host: Int, to destination: Endpoint) {
        metrics.datagramsSent += 1
        metrics.bytesSent += bytes.count
        currentSample.datagrams += 1
        if workloadRunning { metrics.datagramsSentMeasured += 1 }
        guard let target = self.host(at: destination) else {
            metrics.datagramsUnaddressable += 1
            return
        }
        if random.chance(scenario.platform.loss) {
            metrics.datagramsLost += 1
            return
        }
        var delay = placement.latency(from: host, to: target)
        if scenario.platform.jitterMilliseconds > 0 {
            delay += UInt64(random.unit() * scenario.platform.jitterMilliseconds * 1_000_000)
        }
        let slot: UInt32
        if let free = freeSlots.popLast() {
            slot = free
            inFlight[Int(free)].bytes = consume bytes
            inFlight[Int(free)].message = consume message
            inFlight[Int(free)].from = UInt32(host)
        } else {
            slot = UInt32(inFlight.count)
            inFlight.append(InFlight(bytes: consume bytes, message: consume message, from: UInt32(host)))
        }
        queue.schedule(.deliver, at: now + max(delay, 1), host: UInt32(target), payload: slot)
    }

    func deliver(_ event: Event<EventKind>) {
        // Move the datagram out of its slot (take, not copy: a copy of a message retains each of
        // its arrays and dictionaries, and the slot's release then frees nothing).
        let slot = Int(event.payload)
        var bytes: [UInt8] = []
        swap(&bytes, &inFlight[slot].bytes)
        let message = inFlight[slot].message.take()
        let from = Int(inFlight[slot].from)
        freeSlots.append(UInt32(slot))
        let host = Int(event.host)
        guard isOnline(host) else {
            metrics.datagramsToOfflineHosts += 1
            return
        }
        if flags[host].contains(.nat), Self.isQuery(message, bytes) {
            metrics.datagramsBlockedByNAT += 1
            return
        }
        metrics.datagramsDelivered += 1
        trace.record(time: now, from: UInt32(from), to: UInt32(host), byteCount: bytes.count)
        hooks.delivered?(now, from, host, bytes)
        // The outbox is taken out while in use: a completion may start a request elsewhere.
        var actions: [DHTNode.Action] = []
        swap(&actions, &outbox)
        switch consume message {
        case .some(let message):
            nodes[host].receive(message: message, from: Self.endpoint(from), now: Timestamp(nanoseconds: now), into: &actions)
        case .none:
            nodes[host].receive(bytes, from: Self.endpoint(from), now: Timestamp(nanoseconds: now), into: &actions)
        }
        drain(&actions, at: host)
        swap(&actions, &outbox)
    }

    /// Whether a datagram — its message, or without one its bytes — is a query: an unsolicited
    /// datagram a NAT drops.
    static func isQuery(_ message: borrowing KRPCMessage?, _ bytes: [UInt8]) -> Bool {
        switch message {
        case .some(let message):
            if case .query = message.kind { return true }
            return false
        case .none:
            return isQuery(bytes)
        }
    }

    /// Whether a KRPC datagram is a query (`y` = `q`): an unsolicited datagram a NAT drops.
    /// Keys are sorted in bencoding, so `1:y1:q` normally ends the message; otherwise scan.
    static func isQuery(_ bytes: [UInt8]) -> Bool {
        let pattern: [UInt8] = Array("1:y1:q".utf8)
        if bytes.count >= 7, bytes[bytes.count - 7] == pattern[0], bytes[bytes.count - 6] == pattern[1],
           bytes[bytes.count - 5] == pattern[2], bytes[bytes.count - 4] == pattern[3] {
            return bytes[bytes.count - 2] == UInt8(ascii: "q")
        }
        guard bytes.count >= pattern.count else { return false }
        for start in 0...(bytes.count - pattern.count) where bytes[start] == pattern[0] {
            if bytes[start..<start + pattern.count].elementsEqual(pattern) { return true }
        }
        return false
    }

    func wake(_ host: Int, at time: UInt64) {
        guard isOnline(host), scheduledWake[host] == time else { return }  // stale
        scheduledWake[host] = .max
        perform(nodes[host].wake(now: Timestamp(nanoseconds: now)), at: host, afterWake: true)
    }

    /// Schedules a wake-up at the node's ``DHTNode/nextWakeup`` if it is earlier than the one
    /// already pending (a later one will find the node early, which `wake` allows).
    func scheduleWake(_ host: Int, afterWake: Bool) {
        guard isOnline(host) else { return }
        let due = nextWakeup(of: host)
        guard due != .max else { return }
        // A node that is still due right after a wake is retried a millisecond later, never
        // in a loop at the same instant.
        let at = due > now ? due : (afterWake ? now + 1_000_000 : now)
        if at < scheduledWake[host] {
            scheduledWake[host] = at
            queue.schedule(.wake, at: at, host: UInt32(host))
        }
    }

    /// The node's ``DHTNode/nextWakeup``, read in place (``DHTNode/nextWakeupInPlace()``).
    @inline(__always)
    func nextWakeup(of host: Int) -> UInt64 { nodes[host].nextWakeupInPlace().nanoseconds }
}
