// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Jobs
import Lending
import Matching
import Records

extension LendingSimulation {
    /// Requests a lender may still take, in jobs (`spec/0018-lending-simulation.md` §3.2): `idle`
    /// places on free cores, where a job starts at once, and `line` places in its line; the jobs
    /// already on their way take free cores first.
    func room(_ slot: Int) -> (idle: Int, line: Int) {
        guard lenderJoined[slot] <= now else { return (0, 0) }
        let line = desks[slot]
        let free = (lending.lenderCores - line.load.cores) / lending.jobCores
        let coming = Int(incoming[slot])
        return (max(0, free - coming), max(0, lending.lineLimit - line.waitingCount - max(0, coming - free)))
    }

    /// What a borrower knows of a lender that served it or is its friend: the RTT it measured,
    /// its own trust in the lender, and the busy state of the place. Not the lender's trust in
    /// it (the lender's private view, `spec/0018` §3.2), nor whether the lender counts it as a
    /// friend: the node does not tell the matcher (§2.8 says why), unless `ranked_first`.
    func knowledge(borrower: UInt32, generation: UInt32, slot: Int, busy: Bool) -> MatchKnowledge {
        let rttMs = 2 * Double(placement.latency(from: Int(borrower), to: Int(lenderPeer[slot]))) / 1e6
        return MatchKnowledge(measuredRTTMs: rttMs, trustInLender: borrowerTrust(borrower: borrower, slot: slot),
                              isFriendOfLender: lending.friendsRankedFirst && isFriend(borrower, generation, of: slot), lenderIsBusy: busy)
    }

    /// The lenders (slots) job `number`'s borrower knows: those that served its current
    /// identity last, then its friends' (§2.8), each once.
    func knownSlots(of number: UInt32) -> [Int32] {
        let job = jobs[Int(number)], borrower = Int(job.borrower)
        guard generation[borrower] == job.generation else { return [] }
        var slots = known[borrower]
        if job.generation == 0, circleOf[borrower] >= 0 {
            for friend in circles[Int(circleOf[borrower])] where friend != UInt32(borrower) && lenderSlot[Int(friend)] >= 0
                && !slots.contains(lenderSlot[Int(friend)]) {
                slots.append(lenderSlot[Int(friend)])
            }
        }
        return slots
    }

    /// Each lender with room is offered as up to two places: its free cores (idle) and its line
    /// (busy: every core taken), so that the matcher's busy state is true of every core it hands
    /// out. A lender outside its windows is not offered, nor an idle-only one whose offer says its
    /// owner is at the machine (`spec/0011` §2.2): the matcher would rule them out (`spec/0016`
    /// §2), and a pool of requests nobody can take would be matched in vain at every tick.
    func places() -> [Place] {
        var places: [Place] = []
        let seconds = Int64(now / 1_000_000_000)
        for slot in lenderPeer.indices where Matcher.isWithinWindows(offerTemplates[slot].windows, now: seconds)
            && busySignals[slot].busySince == nil {
            let room = room(slot)
            if room.idle > 0 { places.append(Place(slot: slot, busy: false, count: room.idle)) }
            if room.line > 0 { places.append(Place(slot: slot, busy: true, count: room.line)) }
        }
        return places
    }

    func offer(_ place: Place) -> Offer {
        var offer = offerTemplates[place.slot]
        offer.cores = place.count * lending.jobCores
        return offer
    }

    func request(for number: UInt32) -> MatchRequest {
        let job = jobs[Int(number)]
        return MatchRequest(borrower: key(job.borrower, job.generation), runtime: Self.runtime, cores: lending.jobCores,
                            workCoreSeconds: job.coreSeconds, coordinate: coordinates[Int(job.borrower)],
                            now: Int64(now / 1_000_000_000), avoided: avoidedLenders(of: number))
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
        var places = places()
        // Never more requests than the room there is: the auction's price war over a few
        // places would otherwise run until prices reach the unserved penalty.
        let totalRoom = places.reduce(0) { $0 + $1.count }
        let taken = Array(pool.prefix(min(lending.maxRequestsPerTick, totalRoom)))
        guard !taken.isEmpty else { return }
        // Lines are offered only when free cores are too few: a stranger's busy place costs
        // `busyWaitSeconds` more than an idle one and never wins while one is free (exact when
        // borrowers know no lender; with known lenders or friends an approximation, and under
        // `friends.ranked_first` a friend's line would win: `spec/0018` §3.2, §2.8).
        let idleRoom = places.reduce(0) { $0 + ($1.busy ? 0 : $1.count) }
        if lending.knownLenders == 0 && idleRoom >= taken.count { places.removeAll { $0.busy } }
        var sent = Set<UInt32>()
        switch lending.matching {
        case .batch: sent = matchBatch(taken, places)
        case .each: sent = matchEach(taken, places)
        }
        if !sent.isEmpty { pool.removeAll { sent.contains($0) } }
    }

    /// `Matcher.assign` over the requests and every place with room (`spec/0016` §4); each
    /// place's capacity is its room in cores.
    private func matchBatch(_ taken: [UInt32], _ places: [Place]) -> Set<UInt32> {
        let offers = places.map(offer)
        var placesOfSlot = [[Int]](repeating: [], count: lenderPeer.count)
        for (index, place) in places.enumerated() { placesOfSlot[place.slot].append(index) }
        let requests = taken.map(request(for:))
        let known: [[(offer: Int, knowledge: MatchKnowledge)]] = taken.map { number in
            let job = jobs[Int(number)]
            return knownSlots(of: number).flatMap { slot in
                placesOfSlot[Int(slot)].map { ($0, knowledge(borrower: job.borrower, generation: job.generation, slot: Int(slot), busy: places[$0].busy)) }
            }
        }
        // The unserved penalty only has to exceed every placement cost (transfer + wait + risk,
        // `spec/0016` §3); the default 1e9 s makes a price war over too few feasible places last
        // millions of bids, so it is bounded by the largest job here (`spec/0018` §3.2).
        let largest = requests.reduce(0) { max($0, $1.workCoreSeconds / Double($1.cores)) }
        let penalty = 4 * (largest + matcher.weights.busyWaitSeconds + 1000)
        let options = AssignmentOptions(candidatesPerRequest: lending.candidates, unassignedPenaltySeconds: penalty)
        let assignment = matcher.assign(requests, to: offers, options: options, lenderIsBusy: { places[$0].busy },
                                        knownLenders: { known[$0] })
        metrics.assignmentFallbacks += assignment.fallbacks
        metrics.auctionBids += assignment.bids
        var used = [Int](repeating: 0, count: offers.count)
        var sent = Set<UInt32>()
        for (r, chosen) in assignment.offerForRequest.enumerated() {
            guard let o = chosen else { continue }
            used[o] += requests[r].cores
            let knowledge = known[r].first { $0.offer == o }?.knowledge ?? MatchKnowledge(lenderIsBusy: places[o].busy)
            check(requests[r], MatchCandidate(offer: offers[o], knowledge: knowledge), used: used[o])
            dispatch(taken[r], to: Int32(places[o].slot))
            sent.insert(taken[r])
        }
        return sent
    }

    /// `Matcher.best` per request, oldest first (`spec/0016` §3), over the places of the lenders
    /// its borrower knows and `matching.candidates` places drawn at random among those with room.
    private func matchEach(_ taken: [UInt32], _ allPlaces: [Place]) -> Set<UInt32> {
        var places = allPlaces
        var open = Array(places.indices)
        var position = Array(places.indices)
        var placesOfSlot = [[Int]](repeating: [], count: lenderPeer.count)
        for (index, place) in places.enumerated() { placesOfSlot[place.slot].append(index) }
        var sent = Set<UInt32>()
        for number in taken {
            guard !open.isEmpty else { break }
            let borrower = jobs[Int(number)].borrower
            let knownSlots = knownSlots(of: number)
            var chosen = knownSlots.flatMap { placesOfSlot[Int($0)] }.filter { places[$0].count > 0 }
            for _ in 0..<lending.candidates {
                let index = open[random.below(open.count)]
                if !chosen.contains(index) { chosen.append(index) }
            }
            let candidates = chosen.map { index in
                let place = places[index]
                return MatchCandidate(offer: offer(place), knowledge: knownSlots.contains(Int32(place.slot))
                    ? knowledge(borrower: borrower, generation: jobs[Int(number)].generation, slot: place.slot, busy: place.busy) : MatchKnowledge(lenderIsBusy: place.busy))
            }
            let request = request(for: number)
            guard let best = matcher.best(request, candidates) else { continue }
            let index = chosen[best.candidateIndex]
            check(request, candidates[best.candidateIndex], used: request.cores)
            dispatch(number, to: Int32(places[index].slot))
            sent.insert(number)
            places[index].count -= 1
            if places[index].count == 0 {
                let at = position[index], last = open[open.count - 1]
                open[at] = last
                position[last] = at
                open.removeLast()
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

/// A lender's free cores (`busy` false) or its line (`busy` true), with room for `count` jobs.
struct Place {
    var slot: Int
    var busy: Bool
    var count: Int
}
