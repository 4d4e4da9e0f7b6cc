// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import PotluckCrypto

/// What a lender lends, to whom, where to reach it and until when (`spec/0011-records.md` §2).
///
/// An offer is the value `v` of a BEP 44 mutable item signed by the lender's key under the salt
/// `potluck-offer-<slot>` (`spec/0006-dht-items.md`): the item's signature authenticates it, so
/// the offer carries none of its own. Its canonical encoding is at most 1000 bytes.
///
/// Lists that are sets (runtimes, windows, allowed and denied keys) are kept sorted and without
/// repeats, so that one offer has exactly one encoding.
public struct Offer: Sendable, Hashable {
    /// The format version this implementation writes and reads.
    public static let formatVersion: Int64 = 1
    /// BEP 44's cap on a bencoded value.
    public static let maxEncodedLength = 1000
    /// Bounds on the fields (§2.2).
    public static let maxCores = 4096
    public static let maxMemoryBytes: Int64 = 1 << 50
    public static let maxRuntimes = 8
    public static let maxWindows = 8
    public static let maxEndpointLength = 200
    public static let maxCoordinates = 8
    public static let maxTools = 8
    public static let maxToolVersionLength = 40

    /// The lender's ed25519 key; MUST equal the BEP 44 item's `k`.
    public var lender: PublicKey
    /// Cores lent, 1 to 4096.
    public var cores: Int
    /// Memory lent, in bytes.
    public var memoryBytes: Int64
    /// Runtimes the lender runs, such as `wasm32-wasi` (1 to 32 of `a-z 0-9 . _ -` each).
    public var runtimes: [String]
    /// Native tools lent (`spec/0019-native-jobs.md` §1), name → the version they report
    /// (at most 40 bytes); empty for a lender of wasm only. Requires the runtime `native`.
    public var tools: [String: String]
    /// When the lender lends (UTC); empty means at any time.
    public var windows: [TimeWindow]
    /// Whether the lender lends only while its machine is otherwise idle.
    public var idleOnly: Bool
    /// For an idle-only lender whose machine is busy with other work (its owner came back):
    /// since when, Unix seconds. Borrowers then skip the offer (`spec/0011-records.md` §2.3).
    public var busySince: Int64?
    /// Who may borrow, in summary.
    public var policy: OfferPolicy
    /// How to reach the lender (free text such as `udp://203.0.113.5:6881`), 1 to 200 bytes.
    public var endpoint: String
    /// The lender's network coordinates (Vivaldi), if known; finite, 1 to 8 numbers.
    public var coordinates: [Double]?
    /// When the offer stops being valid, Unix seconds.
    public var expiry: Int64

    /// An offer; set-like lists are sorted and deduplicated.
    public init(
        lender: PublicKey, cores: Int, memoryBytes: Int64, runtimes: [String], tools: [String: String] = [:],
        windows: [TimeWindow] = [], idleOnly: Bool = false, busySince: Int64? = nil, policy: OfferPolicy = OfferPolicy(),
        endpoint: String, coordinates: [Double]? = nil, expiry: Int64
    ) {
        self.lender = lender
        self.cores = cores
        self.memoryBytes = memoryBytes
        self.runtimes = Array(Set(runtimes)).sorted()
        self.tools = tools
        self.windows = Array(Set(windows)).sorted()
        self.idleOnly = idleOnly
        self.busySince = busySince
        self.policy = policy
        self.endpoint = endpoint
        self.coordinates = coordinates
        self.expiry = expiry
    }

    /// The BEP 44 salt of the offer in `slot` (0 to 999): `potluck-offer-<slot>`, decimal.
    public static func salt(slot: Int) -> [UInt8] {
        precondition((0...999).contains(slot), "offer slots are 0 to 999")
        return Array("potluck-offer-\(slot)".utf8)
    }

    /// Whether the offer has expired at `now` (Unix seconds): it is valid while `now < expiry`.
    public func isExpired(now: Int64) -> Bool { now >= expiry }

    /// The runtime of native tools.
    public static let nativeRuntime = "native"

    /// Whether `peer` may borrow under the summary policy: not denied, and allowed when an allow
    /// list is published.
    public func admits(_ peer: PublicKey) -> Bool {
        if policy.denied.contains(peer) { return false }
        return policy.allowed.isEmpty || policy.allowed.contains(peer)
    }
}

/// Who may borrow, in summary (`spec/0011-records.md` §2.2): a lender's full policy stays on its
/// machine and always wins there; this is what borrowers need to know before asking.
public struct OfferPolicy: Sendable, Hashable {
    /// At most this many keys per list.
    public static let maxKeys = 8
    /// If not empty, only these peers may borrow.
    public var allowed: [PublicKey]
    /// These peers may not borrow.
    public var denied: [PublicKey]
    /// How many friends the lender serves first (their keys are not published).
    public var friendCount: Int

    /// A policy; key lists are sorted (by key bytes) and deduplicated.
    public init(allowed: [PublicKey] = [], denied: [PublicKey] = [], friendCount: Int = 0) {
        self.allowed = Self.normalised(allowed)
        self.denied = Self.normalised(denied)
        self.friendCount = friendCount
    }

    static func normalised(_ keys: [PublicKey]) -> [PublicKey] {
        Array(Set(keys)).sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
    }
}

/// A daily time window in UTC, `HH:MM-HH:MM`; it wraps past midnight when `end < start`
/// (`22:00-06:00`). Start and end may not be equal (an empty list of windows means "always").
public struct TimeWindow: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Minutes after midnight UTC, 0 to 1439.
    public let startMinute: Int
    /// Minutes after midnight UTC, 0 to 1439.
    public let endMinute: Int

    /// A window from `startMinute` to `endMinute`; `nil` if out of range or empty.
    public init?(startMinute: Int, endMinute: Int) {
        guard (0..<1440).contains(startMinute), (0..<1440).contains(endMinute),
            startMinute != endMinute
        else { return nil }
        self.startMinute = startMinute
        self.endMinute = endMinute
    }

    /// Parses `HH:MM-HH:MM` (exactly eleven characters, 24-hour clock); `nil` otherwise.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 11, bytes[5] == UInt8(ascii: "-"),
            let start = Self.minutes(bytes[0..<5]), let end = Self.minutes(bytes[6..<11])
        else { return nil }
        self.init(startMinute: start, endMinute: end)
    }

    private static func minutes(_ bytes: ArraySlice<UInt8>) -> Int? {
        let b = Array(bytes)
        guard b[2] == UInt8(ascii: ":") else { return nil }
        var digits: [Int] = []
        for byte in [b[0], b[1], b[3], b[4]] {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            digits.append(Int(byte - UInt8(ascii: "0")))
        }
        let hours = digits[0] * 10 + digits[1], minutes = digits[2] * 10 + digits[3]
        guard hours < 24, minutes < 60 else { return nil }
        return hours * 60 + minutes
    }

    /// Whether the window contains `minute` after midnight UTC (start inclusive, end exclusive).
    public func contains(minute: Int) -> Bool {
        startMinute < endMinute
            ? (startMinute..<endMinute).contains(minute)
            : minute >= startMinute || minute < endMinute
    }

    /// `HH:MM-HH:MM`.
    public var description: String { Self.clock(startMinute) + "-" + Self.clock(endMinute) }

    private static func clock(_ minute: Int) -> String {
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return two(minute / 60) + ":" + two(minute % 60)
    }

    /// Orders by start, then end.
    public static func < (a: TimeWindow, b: TimeWindow) -> Bool {
        (a.startMinute, a.endMinute) < (b.startMinute, b.endMinute)
    }
}
