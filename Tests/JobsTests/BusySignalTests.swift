import Jobs
import Testing

/// What an idle-only lender's offer says of its machine (`spec/0011-records.md` §2.2).
@Suite("busy signal")
struct BusySignalTests {
    /// The publications a run of measurements `(busy, now)` makes, with what the offer then says.
    func publications(_ measurements: [(Bool, Int64)]) -> [(at: Int64, busySince: Int64?)] {
        var signal = BusySignal(), published: [(at: Int64, busySince: Int64?)] = []
        for (busy, now) in measurements where signal.observe(busy: busy, now: now) { published.append((now, signal.busySince)) }
        return published
    }

    @Test func aStateIsPublishedOnlyOnceItHasHeldThirtySeconds() {
        let published = publications([(false, 0), (true, 100), (true, 129), (true, 130), (true, 500), (false, 600), (false, 629), (false, 630)])
        #expect(published.map(\.at) == [130, 630])
        #expect(published.map(\.busySince) == [100, nil])
    }

    @Test func aBurstShorterThanTheHoldIsNeverSaid() {
        // A new spell counts from its own start, not the first one's.
        let published = publications([(true, 10), (false, 35), (true, 36), (true, 60), (true, 66)])
        #expect(published.map(\.at) == [66])
        #expect(published.map(\.busySince) == [36])
    }

    @Test func theNextPublicationIsKnownInAdvance() {
        var signal = BusySignal()
        let idle = signal.observe(busy: false, now: 0)
        #expect(!idle && signal.publishesAt == nil)
        let turned = signal.observe(busy: true, now: 100)
        #expect(!turned && signal.publishesAt == 130)
        let back = signal.observe(busy: false, now: 110)
        #expect(!back && signal.publishesAt == nil && signal.busySince == nil)
    }
}
