import Bencode
import PotluckCrypto
import Records
import Testing

@Suite("offers")
struct OfferTests {
    let lender = key(Seeds.provider).publicKey

    func offer(cores: Int = 2, endpoint: String = "udp://127.0.0.1:6881") -> Offer {
        Offer(lender: lender, cores: cores, memoryBytes: 1 << 30, runtimes: ["wasm32-wasi", "wasm32-wasi"],
              endpoint: endpoint, expiry: 100)
    }

    @Test func setsAreSortedAndDeduplicated() throws {
        let a = key(Seeds.consumer).publicKey, b = key(Seeds.other).publicKey
        let o = Offer(lender: lender, cores: 1, memoryBytes: 0, runtimes: ["b", "a", "b"],
                      windows: [TimeWindow("10:00-11:00")!, TimeWindow("09:00-10:00")!],
                      policy: OfferPolicy(allowed: [b, a, b]), endpoint: "x", expiry: 1)
        #expect(o.runtimes == ["a", "b"])
        #expect(o.windows.map(\.description) == ["09:00-10:00", "10:00-11:00"])
        #expect(o.policy.allowed.count == 2)
        #expect(try Offer(encoded: o.encoded()) == o)
    }

    @Test func aMinimalOfferHasTheseExactBytes() throws {
        let bytes = try offer().encoded()
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("d1:ci2e1:e20:udp://127.0.0.1:68811:ii0e1:k32:"))
        #expect(text.hasSuffix("1:mi1073741824e1:pd1:ale1:dle1:fi0ee1:rl11:wasm32-wasie1:vi1e1:wle1:xi100ee"))
        #expect(bytes.count == 152)
    }

    /// An idle-only lender whose owner came back says since when (`b`, §2.2); the key sorts
    /// first, and an offer without it keeps the bytes it always had.
    @Test func anIdleOnlyOfferSaysSinceWhenItsMachineIsBusy() throws {
        var busy = offer()
        busy.idleOnly = true
        busy.busySince = 90
        let bytes = try busy.encoded()
        #expect(String(decoding: bytes, as: UTF8.self).hasPrefix("d1:bi90e1:ci2e"))
        #expect(try Offer(encoded: bytes) == busy)
        #expect(bytes.count == 152 + 7)
        var notIdleOnly = busy
        notIdleOnly.idleOnly = false
        let error = #expect(throws: RecordError.self) { try notIdleOnly.encoded() }
        #expect(error?.field == "busySince")
    }

    @Test(arguments: [("00:00-23:59", 0, 1439), ("22:00-06:00", 1320, 360)])
    func windowsParse(_ text: String, _ start: Int, _ end: Int) throws {
        let window = try #require(TimeWindow(text))
        #expect(window.startMinute == start && window.endMinute == end)
        #expect(window.description == text)
    }

    @Test(arguments: ["", "9:00-10:00", "10:00-10:00", "10:60-11:00", "24:00-01:00", "10:00 11:00", "aa:bb-cc:dd"])
    func badWindowsAreRefused(_ text: String) { #expect(TimeWindow(text) == nil) }

    @Test func wrappingWindowsContainTheNight() throws {
        let night = try #require(TimeWindow("22:00-06:00"))
        #expect(night.contains(minute: 23 * 60) && night.contains(minute: 0) && !night.contains(minute: 6 * 60))
        #expect(!night.contains(minute: 12 * 60))
    }

    @Test func encodingNamesTheFieldAtFault() {
        #expect(throws: RecordError.self) { try offer(cores: 0).encoded() }
        let error = #expect(throws: RecordError.self) { try offer(endpoint: "a\nb").encoded() }
        #expect(error?.field == "endpoint")
        let big = #expect(throws: RecordError.self) {
            var large = offer(endpoint: String(repeating: "e", count: 200)).withKeys(16)
            large.runtimes = (0..<8).map { "runtime-\($0)-" + String(repeating: "x", count: 22) }
            return try large.encoded()
        }
        #expect(big?.code == .tooLarge)
    }

    @Test func policyAdmitsAndExpiryIsExclusive() {
        var o = offer()
        let friend = key(Seeds.consumer).publicKey, stranger = key(Seeds.other).publicKey
        #expect(o.admits(stranger))
        o.policy = OfferPolicy(allowed: [friend])
        #expect(o.admits(friend) && !o.admits(stranger))
        o.policy = OfferPolicy(denied: [friend])
        #expect(!o.admits(friend) && o.admits(stranger))
        #expect(!o.isExpired(now: 99) && o.isExpired(now: 100))
    }

    @Test func coordinatesRoundTripBitForBit() throws {
        var o = offer()
        o.coordinates = [0.1, -1e-300, 123456.789]
        #expect(try Offer(encoded: o.encoded()).coordinates == o.coordinates)
        o.coordinates = [.nan]
        #expect(throws: RecordError.self) { try o.encoded() }
    }
}

extension Offer {
    /// This offer allowing and denying `count` generated keys each (at most 8 are legal).
    func withKeys(_ count: Int) -> Offer {
        var copy = self
        let keys = (0..<count).map { _ in SigningKey.generate().publicKey }
        copy.policy = OfferPolicy(allowed: Array(keys.prefix(8)), denied: Array(keys.dropFirst(8)))
        return copy
    }
}
