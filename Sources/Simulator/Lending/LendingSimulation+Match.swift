// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Jobs
import Matching
import Records

extension LendingSimulation {
    /// Requests a lender may still take, in jobs: free cores, plus free places in its line,
    /// less the jobs already on their way to it (`spec/0018-lending-simulation.md` §3.2).
    func room(_ slot: Int) -> Int {
        guard lenderJoined[slot] <= now else { return 0 }
        let line = lines[slot]
        let free = (lending.lenderCores - line.load.cores) / lending.jobCores
        return max(0, free + lending.lineLimit - line.waitingCount - Int(incoming[slot]))
    }

    /// Whether a job sent to the lender now would wait: no free core.
    func isBusy(_ slot: Int) -> Bool {
        lines[slot].load.cores + lending.jobCores > lending.lenderCores
    }

    /// What a borrower knows of a lender that served it: the RTT it measured, trust both ways
    /// (the lender's only under the trust policy), whether it is busy.
    func knowledge(borrower: UInt32, slot: Int) -> MatchKnowledge {
        let rttMs = 2 * Double(placement.latency(from: Int(borrower), to: Int(lenderPeer[slot]))) / 1e6
        let theirs = lending.order != .fifo
            ? lenderTrust(slot: slot, borrower: borrower, generation: generation[Int(borrower)]) : nil
        return MatchKnowledge(measuredRTTMs: rttMs, trustInLender: borrowerTrust(borrower: borrower, slot: slot),
                              lenderTrustInBorrower: theirs, isFriendOfLender: false, lenderIsBusy: isBusy(slot))
    }

    func request(for number: UInt32) -> MatchRequest {
        let job = jobs[Int(number)]
        return MatchRequest(borrower: key(job.borrower, job.generation), runtime: Self.runtime, cores: lending.jobCores,
                            workCoreSeconds: job.coreSeconds, coordinate: coordinates[Int(job.borrower)],
                            now: Int64(now / 1_000_000_000))
    }

    /// A match tick: the oldest pending requests (at most `max_requests_per_tick`, and at most
    /// the lenders' total room) are paired with offers that have room, in batch or one by one.
    func matchTick() {
        let next = now + Self.nanoseconds(lending.matchInterval)
        if next <= end { queue.schedule(.matchTick, at: next) }
        guard !pool.isEmpty else { return }
        if poolNeedsSort {
            pool.sort()
            poolNeedsSort = false
        }
        metrics.matchTicks += 1
        // Never more requests than the room there is: the auction's price war over a few
        // places would otherwise run until prices reach the unserved penalty.
        let totalRoom = lenderPeer.indices.reduce(0) { $0 + room($1) }
        let taken = Array(pool.prefix(min(lending.maxRequestsPerTick, totalRoom)))
        guard !taken.isEmpty else { return }
        var sent = Set<UInt32>()
        switch lending.matching {
        case .batch: sent = matchBatch(taken)
        case .each: sent = matchEach(taken)
        }
        if !sent.isEmpty { pool.removeAll { sent.contains($0) } }
    }

    /// `Matcher.assign` over every request and every offer with room (`spec/0016` §4); each offer's
    /// capacity is its room in cores.
    private func matchBatch(_ taken: [UInt32]) -> Set<UInt32> {
        var offers: [Offer] = []
        var offerSlot: [Int] = []
        var offerOfSlot = [Int32](repeating: -1, count: lenderPeer.count)
        for slot in lenderPeer.indices {
            let room = room(slot)
            guard room > 0 else { continue }
            var offer = offerTemplates[slot]
            offer.cores = room * lending.jobCores
            offerOfSlot[slot] = Int32(offers.count)
            offers.append(offer)
            offerSlot.append(slot)
        }
        guard !offers.isEmpty else { return [] }
        let requests = taken.map(request(for:))
        let busy = offerSlot.map(isBusy)
        let known: [[(offer: Int, knowledge: MatchKnowledge)]] = taken.map { number in
            let borrower = jobs[Int(number)].borrower
            guard generation[Int(borrower)] == jobs[Int(number)].generation else { return [] }
            return self.known[Int(borrower)].compactMap { slot in
                let offer = offerOfSlot[Int(slot)]
                return offer < 0 ? nil : (Int(offer), knowledge(borrower: borrower, slot: Int(slot)))
            }
        }
        let options = AssignmentOptions(candidatesPerRequest: lending.candidates)
        let assignment = matcher.assign(requests, to: offers, options: options, lenderIsBusy: { busy[$0] },
                                        knownLenders: { known[$0] })
        metrics.assignmentFallbacks += assignment.fallbacks
        metrics.auctionBids += assignment.bids
        var used = [Int](repeating: 0, count: offers.count)
        var sent = Set<UInt32>()
        for (r, chosen) in assignment.offerForRequest.enumerated() {
            guard let o = chosen else { continue }
            used[o] += requests[r].cores
            let knowledge = known[r].first { $0.offer == o }?.knowledge ?? MatchKnowledge(lenderIsBusy: busy[o])
            check(requests[r], MatchCandidate(offer: offers[o], knowledge: knowledge), used: used[o])
            dispatch(taken[r], to: Int32(offerSlot[o]))
            sent.insert(taken[r])
        }
        return sent
    }

    /// `Matcher.rank` per request, oldest first, over the offers its borrower knows and
    /// `matching.candidates` offers drawn at random among those with room (`spec/0016` §3).
    private func matchEach(_ taken: [UInt32]) -> Set<UInt32> {
        var rooms = lenderPeer.indices.map(room)
        var open = lenderPeer.indices.filter { rooms[$0] > 0 }
        var position = [Int32](repeating: -1, count: lenderPeer.count)
        for (index, slot) in open.enumerated() { position[slot] = Int32(index) }
        var sent = Set<UInt32>()
        for number in taken {
            guard !open.isEmpty else { break }
            let borrower = jobs[Int(number)].borrower
            var slots = generation[Int(borrower)] == jobs[Int(number)].generation
                ? known[Int(borrower)].map(Int.init).filter { rooms[$0] > 0 } : []
            for _ in 0..<lending.candidates {
                let slot = open[random.below(open.count)]
                if !slots.contains(slot) { slots.append(slot) }
            }
            let candidates = slots.map { slot in
                var offer = offerTemplates[slot]
                offer.cores = rooms[slot] * lending.jobCores
                return MatchCandidate(offer: offer, knowledge: known[Int(borrower)].contains(Int32(slot))
                    ? knowledge(borrower: borrower, slot: slot) : MatchKnowledge(lenderIsBusy: isBusy(slot)))
            }
            let request = request(for: number)
            guard let best = matcher.best(request, candidates) else { continue }
            let slot = slots[best.candidateIndex]
            check(request, candidates[best.candidateIndex], used: request.cores)
            dispatch(number, to: Int32(slot))
            sent.insert(number)
            rooms[slot] -= 1
            if rooms[slot] == 0 {
                let index = Int(position[slot]), last = open[open.count - 1]
                open[index] = last
                position[last] = Int32(index)
                open.removeLast()
                position[slot] = -1
            }
        }
        return sent
    }

    /// The live invariant: no assignment breaks a hard constraint of `spec/0016` §2 or takes more
    /// than the offer's capacity. A breach is counted (and tested to be zero), never hidden.
    private func check(_ request: MatchRequest, _ candidate: MatchCandidate, used: Int) {
        if case .ruledOut = matcher.evaluate(request, candidate) { metrics.constraintViolations += 1 }
        if used > candidate.offer.cores { metrics.constraintViolations += 1 }
        metrics.assignments += 1
    }
}
