// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Kademlia
import SeededRandom
import Testing

/// Random scenarios against an independent model of the driver's view: which queries are
/// open, when each turns slow or fails, which reports must be accepted.
@Suite("Lookup properties")
struct LookupPropertyTests {
    /// The model: queries sent and still open (not answered, not failed), and the counters.
    struct Model {
        var configuration: Lookup.Configuration
        var sent: Set<NodeID> = []
        var open: [NodeID: Timestamp] = [:]
        var answered: [NodeID] = []
        var failed = 0
        /// The time of the latest `next` call: slow and failed states change only there.
        var clock = Timestamp.zero

        func slowAt(_ id: NodeID) -> Timestamp { open[id]! + configuration.shortTimeout }
        func failAt(_ id: NodeID) -> Timestamp { open[id]! + configuration.fullTimeout }

        /// Queries that count against α at `clock`.
        var inFlight: Int { open.keys.filter { clock < slowAt($0) }.count }

        /// What `next` must wait for: the earliest slow or fail time among open queries.
        var deadline: Timestamp? {
            open.keys.map { clock < slowAt($0) ? slowAt($0) : failAt($0) }.min()
        }

        /// Fails the open queries past the full timeout, as `next(now:)` does.
        mutating func expire(now: Timestamp) {
            clock = now
            for id in open.keys where now >= failAt(id) {
                open[id] = nil
                failed += 1
            }
        }
    }

    /// One random scenario: a pool of 60 ids (our own among them), random seeds, and random
    /// replies (with duplicates and our own id), failures and clock jumps.
    static func scenario(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let pool = (0..<60).map { _ in NodeID.random(using: &random) }
        let target = NodeID.random(using: &random), own = pool[0]
        let configuration = randomConfiguration(maxQueries: 5..<35, contactsPerReply: 1..<17, using: &random)
        func somePool() -> [NodeContact] {
            (0..<Int(random.next() % 12)).map { _ in LookupFixture.contact(pool[Int(random.next() % 60)]) }
        }
        var now = Timestamp.zero
        var lookup = Lookup(target: target, ownID: own, seeds: somePool(), configuration: configuration, now: now)
        var model = Model(configuration: configuration)
        for _ in 0..<400 where !lookup.isFinished {
            switch random.next() % 4 {
            case 0: drain(&lookup, &model, now: now)
            case 1: now = now + .milliseconds(Int64(random.next() % 2_500))
            default:
                guard let id = model.sent.randomElement(using: &random) else { continue }
                let expected = model.open[id] != nil
                if random.next() % 3 == 0 {
                    #expect(lookup.failed(id, now: now) == expected)
                    if expected { model.failed += 1 }
                } else {
                    #expect(lookup.succeeded(id, closerNodes: somePool(), now: now) == expected)
                    if expected { model.answered.append(id) }
                }
                if expected { model.open[id] = nil }
            }
        }
        // Let time run out: the lookup must finish, by the full timeout at the latest.
        while !lookup.isFinished {
            drain(&lookup, &model, now: now)
            now = now + configuration.shortTimeout
        }
        check(lookup.result, model, target: target)
    }

    /// A random configuration: α 1–4, k 1–8, up to 11 candidates beyond k.
    static func randomConfiguration(maxQueries: Range<Int>, contactsPerReply: Range<Int>, using random: inout SplitMix64)
        -> Lookup.Configuration
    {
        let k = 1 + Int(random.next() % 8)
        var configuration = Lookup.Configuration(
            alpha: 1 + Int(random.next() % 4), k: k,
            maxQueries: maxQueries.lowerBound + Int(random.next() % UInt64(maxQueries.count)),
            candidateLimit: k + Int(random.next() % 12),
            contactsPerReply: contactsPerReply.lowerBound + Int(random.next() % UInt64(contactsPerReply.count)),
            // The model is the classic lookup; the refinements have exact-step tests.
            slowHoldsTermination: true, adaptiveShortTimeoutFloor: nil, resendsToSlowPeers: false)
        configuration.burstsWhenConverged = false
        configuration.overtakenFreeSlots = false
        return configuration
    }

    /// Calls `next` until it stops querying, checking every step against the model.
    static func drain(_ lookup: inout Lookup, _ model: inout Model, now: Timestamp) {
        model.expire(now: now)
        while true {
            let step = lookup.next(now: now)
            if case .query(let contact) = step {
                #expect(contact.id != lookup.ownID)
                #expect(!model.sent.contains(contact.id), "queried twice")
                #expect(model.sent.count < model.configuration.maxQueries)
                model.sent.insert(contact.id)
                model.open[contact.id] = now
            }
            #expect(lookup.inFlight == model.inFlight)
            #expect(lookup.inFlight <= model.configuration.alpha)
            #expect(lookup.outstanding == model.open.count)
            switch step {
            case .query: continue
            case .waitUntil(let time):
                #expect(time > now)
                #expect(time == model.deadline)
                return
            case .finished:
                return
            }
        }
    }

    /// The result: sorted, no duplicates, the k closest answered peers, counters as modelled.
    static func check(_ result: LookupResult, _ model: Model, target: NodeID) {
        let ids = result.closest.map(\.id)
        #expect(Set(ids).count == ids.count)
        #expect(zip(ids, ids.dropFirst()).allSatisfy { target.isCloser($0, than: $1) })
        let expected = model.answered.sorted { target.isCloser($0, than: $1) }.prefix(model.configuration.k)
        #expect(ids == Array(expected))
        #expect(result.queried == model.sent.count)
        #expect(result.responded == model.answered.count)
        #expect(result.failed == model.failed)
    }

    @Test func randomScenariosMatchTheModel() {
        for seed in UInt64(1)...300 { Self.scenario(seed: seed) }
    }

    /// The order of a reply's contacts does not matter (spec 0007 §3.4: the fresh candidates
    /// kept are the `candidateLimit` closest of all offered): replies sorted by distance and the
    /// same replies farthest first lead two lookups through the same queries to the same result.
    @Test func aReplyLeadsToTheSameLookupInAnyOrder() {
        for seed in UInt64(1)...200 {
            var random = SplitMix64(seed: seed)
            let pool = (0..<80).map { _ in NodeID.random(using: &random) }
            let target = NodeID.random(using: &random), own = pool[0]
            let configuration = Self.randomConfiguration(maxQueries: 10..<50, contactsPerReply: 1..<21, using: &random)
            func byDistance(_ ids: [NodeID]) -> [NodeContact] {
                ids.sorted { target.isCloser($0, than: $1) }.map(LookupFixture.contact)
            }
            /// Distinct ids, our own among them now and then.
            func reply() -> [NodeID] { Array(Set((0..<Int(random.next() % 24)).map { _ in pool[Int(random.next() % 80)] })) }
            let seeds = reply()
            var nearestFirst = Lookup(target: target, ownID: own, seeds: byDistance(seeds), configuration: configuration, now: .zero)
            var farthestFirst = Lookup(target: target, ownID: own, seeds: byDistance(seeds).reversed(),
                                       configuration: configuration, now: .zero)
            var now = Timestamp.zero, asked: [NodeID] = []
            for _ in 0..<300 where !nearestFirst.isFinished {
                let step = nearestFirst.next(now: now)
                #expect(farthestFirst.next(now: now) == step, "seed \(seed)")
                switch step {
                case .query(let contact): asked.append(contact.id)
                case .waitUntil(let time): now = time
                case .finished: break
                }
                guard !asked.isEmpty, random.next() % 2 == 0 else { continue }
                let peer = asked.remove(at: Int(random.next() % UInt64(asked.count)))
                // The lookup reads the first `contactsPerReply` contacts of a reply: the same ones
                // go to both, in order and farthest first.
                let sorted = Array(byDistance(reply()).prefix(configuration.contactsPerReply))
                #expect(nearestFirst.succeeded(peer, closerNodes: sorted, now: now)
                    == farthestFirst.succeeded(peer, closerNodes: sorted.reversed(), now: now))
            }
            #expect(nearestFirst.result == farthestFirst.result, "seed \(seed)")
        }
    }

    @Test func aLookupWithEveryPeerSilentEndsAfterTheFullTimeouts() {
        var lookup = Lookup(target: .zero, ownID: LookupFixture.own,
                            seeds: (1...20).map { LookupFixture.contact(UInt64($0)) },
                            configuration: Lookup.Configuration(resendsToSlowPeers: false), now: .zero)
        var now = Timestamp.zero, queried = 0
        while true {
            let step = lookup.next(now: now)
            if case .query = step { queried += 1; continue }
            guard case .waitUntil(let time) = step else { break }
            now = time
        }
        // Every second α = 7 more go out (the slow ones free their slots) until all 20 are out;
        // the last batch, sent at 2 s, fails at 7 s.
        #expect(queried == 20)
        var expected = LookupResult(closest: [], queried: 20, responded: 0, failed: 20, hops: 0, duration: .seconds(7))
        expected.slowed = 20
        expected.unanswered = (1...20).map { LookupFixture.id(UInt64($0)) }
        #expect(lookup.result == expected)
    }
}
