/// Who may be answered, in three layers of token buckets (`spec/0009-node.md` §4): each source
/// address, each address block (IPv4 /24, IPv6 /64), and the node as a whole. A flood from one
/// address, from many addresses of one block, or from everywhere at once is cut at its own
/// layer; under a global overload the last quarter of the node's budget is kept for queriers
/// already in its routing table that have answered it (libtorrent's `dos_blocker` is the first
/// layer alone, keyed by address; its IPv6 keying gives each address a fresh allowance).
///
/// Each layer remembers at most `capacity` keys, forgetting the least recently seen.
struct RateLimiter: Sendable {
    /// Why a query was not answered (the node counts it under this name).
    enum Refusal: String, Sendable {
        case address = "rate-limited"
        case block = "rate-limited-block"
        case overloaded = "overloaded"
    }

    /// A token bucket: `rate` per second, at most `burst` saved.
    struct Rate: Sendable {
        var rate: Double
        var burst: Double
    }

    private struct Bucket: Sendable {
        var tokens: Double
        var updated: Timestamp

        /// The tokens at `now` (refilled, not taken).
        func refilled(_ limit: Rate, now: Timestamp) -> Bucket {
            let elapsed = now - updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return Bucket(tokens: min(limit.burst, tokens + max(0, seconds) * limit.rate), updated: now)
        }
    }

    private enum Key: Hashable, Sendable {
        case address(Endpoint.Address)
        case v4Block(UInt32)
        case v6Block(UInt64)
    }

    let perAddress: Rate
    let perBlock: Rate
    let global: Rate
    let capacity: Int
    private var buckets: [Key: Bucket] = [:]
    private var whole: Bucket?

    init(perAddress: Rate, perBlock: Rate, global: Rate, capacity: Int) {
        self.perAddress = perAddress
        self.perBlock = perBlock
        self.global = global
        self.capacity = capacity
    }

    /// Whether a query from `address` at `now` may be answered (`nil`), taking one token from
    /// each layer if so; `known` marks a verified member of the routing table.
    mutating func admit(_ address: Endpoint.Address, known: Bool, now: Timestamp) -> Refusal? {
        guard perAddress.rate.isFinite else { return nil }  // no limit, nothing to remember (the simulator)
        let blockKey: Key = switch address {
        case .v4(let ip): .v4Block(ip >> 8)
        case .v6(let high, _): .v6Block(high)
        }
        let own = (buckets[.address(address)] ?? Bucket(tokens: perAddress.burst, updated: now)).refilled(perAddress, now: now)
        let block = (buckets[blockKey] ?? Bucket(tokens: perBlock.burst, updated: now)).refilled(perBlock, now: now)
        let node = (whole ?? Bucket(tokens: global.burst, updated: now)).refilled(global, now: now)
        var refusal: Refusal?
        if own.tokens < 1 { refusal = .address }
        else if block.tokens < 1 { refusal = .block }
        else if node.tokens < 1 || (!known && node.tokens < global.burst / 4) { refusal = .overloaded }
        let taken = refusal == nil ? 1.0 : 0
        remember(.address(address), Bucket(tokens: own.tokens - taken, updated: now))
        remember(blockKey, Bucket(tokens: block.tokens - taken, updated: now))
        whole = Bucket(tokens: node.tokens - taken, updated: now)
        return refusal
    }

    /// How many addresses and blocks it remembers (for memory accounting).
    var rememberedKeys: Int { buckets.count }

    private mutating func remember(_ key: Key, _ bucket: Bucket) {
        if buckets[key] == nil && buckets.count >= capacity {
            // Forget the stalest quarter at once, so this O(n) sweep runs rarely.
            let sorted = buckets.sorted { $0.value.updated < $1.value.updated }
            for (old, _) in sorted.prefix(max(1, capacity / 4)) { buckets[old] = nil }
        }
        buckets[key] = bucket
    }
}
