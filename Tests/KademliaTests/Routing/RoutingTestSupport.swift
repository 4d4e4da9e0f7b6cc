import Kademlia
import SeededRandom

/// Helpers shared by the routing tests.
enum Routing {
    /// A public IPv4 endpoint derived from `id`, so each id has a stable address of its own.
    /// The default rules but BEP 42's: these tests choose ids by their prefix and give them
    /// synthetic public addresses (BEP 42 has tests of its own).
    static let unenforced = RoutingTable.Configuration(enforceNodeIDs: false)

    static func contact(_ id: NodeID, port: UInt16 = 6881) -> NodeContact {
        let ip = UInt32(truncatingIfNeeded: id.high >> 32) | 0x0100_0001
        return NodeContact(id: id, endpoint: Endpoint(address: .v4(ip), port: port))
    }

    /// A random id sharing exactly `bits` leading bits with `id`.
    static func id(near id: NodeID, sharing bits: Int, using random: inout SplitMix64) -> NodeID {
        id.randomID(sharingPrefix: bits, using: &random)
    }

    /// `t0` plus `seconds`.
    static func time(_ seconds: Int) -> Timestamp { Timestamp.seconds(1_000) + .seconds(seconds) }

    static let fifteenMinutes = 15 * 60

    /// The members closest to `target` by brute force: every usable member, fully sorted.
    static func bruteForceClosest(_ table: RoutingTable, to target: NodeID, count: Int, goodAt now: Timestamp? = nil) -> [NodeContact] {
        let usable = table.buckets.flatMap(\.entries).filter { entry in
            let state = entry.state(now: now ?? .zero, configuration: table.configuration)
            return now == nil ? state != .bad : state == .good
        }
        return Array(usable.map(\.contact).sorted { ($0.id ^ target) < ($1.id ^ target) }.prefix(count))
    }

    /// Checks, through the public API only, the structural properties the table promises.
    /// Returns a description of the first violation, or `nil`.
    static func violation(in table: RoutingTable) -> String? {
        let k = table.configuration.bucketSize
        var coverage = 0.0
        for (index, bucket) in table.buckets.enumerated() {
            if bucket.entries.count > k { return "bucket \(index) holds \(bucket.entries.count) > k" }
            if bucket.replacements.count > table.configuration.replacementCacheSize { return "cache \(index) too big" }
            for entry in bucket.entries + bucket.replacements where !bucket.covers(entry.contact.id) {
                return "\(entry.contact) lies outside bucket \(index)"
            }
            for (other, second) in table.buckets.enumerated() where other != index {
                // Two prefixes overlap iff the shorter one covers the longer one's prefix.
                let (short, long) = bucket.prefixLength <= second.prefixLength ? (bucket, second) : (second, bucket)
                if short.covers(long.prefix) { return "buckets \(index) and \(other) overlap" }
            }
            coverage += 1 / Double(sign: .plus, exponent: bucket.prefixLength, significand: 1)
        }
        if coverage != 1 { return "buckets cover \(coverage) of the id space" }
        let owners = table.buckets.indices.filter { table.buckets[$0].covers(table.ownID) }
        if owners != [table.buckets.count - 1] { return "own id covered by buckets \(owners)" }
        let all = table.allContacts
        if all.contains(where: { $0.id == table.ownID }) { return "own id stored" }
        if all.count != table.count || Set(all.map(\.id)).count != all.count { return "count or uniqueness broken" }
        return nil
    }
}
