// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Kademlia

/// The deployment's workload: lookups, puts and gets on random online hosts (Poisson
/// arrivals), their completions, and the time series.
extension Simulation {
    func startWorkload() {
        workloadRunning = true
        accountOnlineTime()
        let deployment = scenario.deployment
        scheduleNext(.lookup, rate: deployment.lookupsPerSecond)
        scheduleNext(.put, rate: deployment.putsPerSecond)
        scheduleNext(.get, rate: deployment.getsPerSecond)
    }

    func stopWorkload() {
        accountOnlineTime()
        workloadRunning = false
    }

    /// The next arrival of a Poisson process of `rate` per second, if before the window ends.
    func scheduleNext(_ kind: EventKind, rate: Double) {
        guard rate > 0 else { return }
        let gap = Distribution.exponential(mean: 1 / rate).sample(using: &random)
        let at = now + max(1, Self.nanoseconds(gap))
        if at < measureEnd { queue.schedule(kind, at: at) }
    }

    func issue(_ kind: RequestKind, host: Int) -> RequestID {
        let request = nextRequest
        nextRequest += 1
        requests[request] = PendingRequest(kind: kind, host: UInt32(host), started: now)
        return request
    }

    func startLookup() {
        scheduleNext(.lookup, rate: scenario.deployment.lookupsPerSecond)
        guard let host = randomReadyHost() else {
            metrics.skipped += 1
            return
        }
        let target = NodeID.random(using: &random)
        metrics.lookupsStarted += 1
        let request = issue(.lookup(target), host: host)
        perform(nodes[host].start(.findNode(target), request: request, now: Timestamp(nanoseconds: now)), at: host)
    }

    /// Schedules `host`'s next periodic lookup one interval from now, if before the workload
    /// stops (`spec/0010` §5.2).
    func schedulePeriodicLookup(_ host: Int) {
        let interval = scenario.deployment.lookupInterval
        guard interval > 0 else { return }
        let at = now + max(1, Self.nanoseconds(interval))
        guard at < measureEnd else { return }
        periodicLookupDue[host] = at
        queue.schedule(.periodicLookup, at: at, host: UInt32(host))
    }

    /// A host's periodic lookup: measured only inside the window, like every workload operation.
    /// Stale after the host left (a rejoin schedules afresh once bootstrapped).
    func startPeriodicLookup(_ host: Int, at time: UInt64) {
        guard periodicLookupDue[host] == time, flags[host].contains(.ready) else { return }
        schedulePeriodicLookup(host)
        guard now >= measureStart else { return }
        let target = switch scenario.deployment.lookupTarget {
        case .random: NodeID.random(using: &random)
        case .host0: ids[0]
        }
        metrics.lookupsStarted += 1
        let request = issue(.lookup(target), host: host)
        perform(nodes[host].start(.findNode(target), request: request, now: Timestamp(nanoseconds: now)), at: host)
    }

    func startPut() {
        scheduleNext(.put, rate: scenario.deployment.putsPerSecond)
        guard let host = randomReadyHost() else {
            metrics.skipped += 1
            return
        }
        // A small bencoded integer, unique per put: an immutable BEP 44 item (no signature).
        let item = ImmutableItem(value: Array("i\(random.next() >> 1)e".utf8))
        metrics.putsStarted += 1
        let request = issue(.put(item.target), host: host)
        perform(nodes[host].start(.put(.immutable(item)), request: request, now: Timestamp(nanoseconds: now)), at: host)
    }

    func startGet() {
        scheduleNext(.get, rate: scenario.deployment.getsPerSecond)
        guard !storedTargets.isEmpty, let host = randomReadyHost() else {
            metrics.skipped += 1
            return
        }
        let target = storedTargets[random.below(storedTargets.count)]
        metrics.getsStarted += 1
        let request = issue(.get, host: host)
        perform(nodes[host].start(.get(target, salt: []), request: request, now: Timestamp(nanoseconds: now)), at: host)
    }

    /// A command finished on some node.
    func completed(_ request: RequestID, _ outcome: DHTNode.Outcome) {
        guard let pending = requests.removeValue(forKey: request) else { return }
        let host = Int(pending.host)
        switch pending.kind {
        case .bootstrap:
            if case .bootstrapped(let tableSize, _) = outcome, tableSize > 0 || host == 0 {
                flags[host].insert(.ready)
                schedulePeriodicLookup(host)
            } else {
                queue.schedule(.join, at: now + 5_000_000_000, host: pending.host, payload: 1)
            }
        case .lookup(let target):
            lookupCompleted(target: target, host: host, started: pending.started, outcome: outcome)
        case .put(let target):
            if case .stored(_, let storedOn, _) = outcome, storedOn > 0 {
                metrics.putsStored += 1
                if storedTargets.count < 65_536 {
                    storedTargets.append(target)
                } else {
                    storedTargets[storedTargetsNext] = target
                    storedTargetsNext = (storedTargetsNext + 1) % storedTargets.count
                }
            }
        case .get:
            metrics.getsCompleted += 1
            currentSample.gets += 1
            if case .item(let item?, _, let result) = outcome, !item.value.isEmpty {
                metrics.getsFound += 1
                currentSample.found += 1
                metrics.getFoundMilliseconds.append(Double(now - pending.started) / 1e6)
                if let first = result.firstValueAfter { metrics.getFirstValueMilliseconds.append(Self.milliseconds(first)) }
            }
        }
    }

    /// Scores a lookup against the truth: the k hosts closest to the target among those online
    /// now that can answer (not NATed), other than the querier.
    func lookupCompleted(target: NodeID, host: Int, started: UInt64, outcome: DHTNode.Outcome) {
        var record = LookupRecord(started: started, ended: now, host: host, exact: false, recall: 0, hops: 0, queried: 0,
                                  failed: true)
        if case .nodes(let result) = outcome {
            let truth = index.closest(to: target, count: scenario.deployment.k) { candidate in
                candidate != host && flags[candidate].contains(.online) && !flags[candidate].contains(.nat)
            }
            var returned: [Int] = []
            returned.reserveCapacity(result.closest.count)
            for contact in result.closest { if let host = self.host(at: contact.endpoint) { returned.append(host) } }
            var hits = 0
            for host in truth where returned.contains(host) { hits += 1 }
            record.exact = !truth.isEmpty && returned == truth
            if !record.exact {
                let missed = truth.filter { !returned.contains($0) }
                // How long before the start the oldest host missed had joined (0: during the lookup).
                let oldest = missed.map { started &- min(started, joinedAt[$0]) }.max()
                for (slot, age) in Metrics.newcomerAges.enumerated() where oldest.map({ $0 <= age }) ?? false {
                    metrics.missedOnlyNewcomers[slot] += 1
                }
                for host in missed {
                    if result.unanswered.contains(ids[host]) { metrics.missedAsked += 1 } else { metrics.missedNotAsked += 1 }
                }
            }
            record.recall = truth.isEmpty ? 1 : Double(hits) / Double(truth.count)
            record.hops = result.hops
            record.queried = result.queried
            record.failed = false
            metrics.hops.append(result.hops)
            metrics.queried.append(result.queried)
            metrics.slowQueries += result.slowed
            metrics.resentQueries += result.resent
            let milliseconds = Double(now - started) / 1e6
            metrics.latenciesMilliseconds.append(milliseconds)
            if result.slowed == 0 {
                metrics.latenciesWithoutSlowMilliseconds.append(milliseconds)
            } else {
                metrics.latenciesWithSlowMilliseconds.append(milliseconds)
            }
            currentSample.hopsSum += result.hops
            currentSample.latencySumMilliseconds += milliseconds
        } else {
            metrics.lookupsFailed += 1
        }
        metrics.lookupsCompleted += 1
        if record.exact { metrics.lookupsExact += 1 }
        metrics.lookupRecallSum += record.recall
        currentSample.lookups += 1
        if record.exact { currentSample.exact += 1 }
        hooks.lookupCompleted?(record)
    }

    static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }

    func takeSample() {
        accountOnlineTime()
        currentSample.time = Double(now) / 1e9
        currentSample.online = onlineList.count
        series.append(currentSample)
        currentSample = Sample(time: 0, online: 0)
        let next = now + Self.nanoseconds(scenario.deployment.sampleInterval)
        if next <= end { queue.schedule(.sample, at: next) }
    }
}
