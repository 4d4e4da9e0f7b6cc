// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Kademlia

/// Helpers for the lookup tests, namespaced so they cannot collide with other test files.
enum LookupFixture {
    /// With target `.zero`, the distance of `id(n)` is `n` in the top word: ids sort by `n`.
    static func id(_ n: UInt64) -> NodeID { NodeID(high: n, middle: 0, low: 0) }

    /// A contact for any id, with an endpoint derived from it.
    static func contact(_ id: NodeID) -> NodeContact {
        NodeContact(id: id, endpoint: Endpoint(address: .v4(UInt32(truncatingIfNeeded: id.high ^ id.middle)), port: 6881))
    }

    static func contact(_ n: UInt64) -> NodeContact { contact(id(n)) }

    static let own = NodeID.max

    /// The time `milliseconds` ms after the origin.
    static func ms(_ milliseconds: UInt64) -> Timestamp { Timestamp(nanoseconds: milliseconds * 1_000_000) }

    /// Passes a report's answer through, so that `#expect` does not wrap the mutating call itself
    /// in a closure (where `lookup` would be immutable).
    static func accepted(_ value: Bool) -> Bool { value }

    /// Calls `next` until it stops returning queries; returns the queried `n`s and the last step.
    static func drain(_ lookup: inout Lookup, now: Timestamp) -> (queries: [UInt64], last: Lookup.Step) {
        var queries: [UInt64] = []
        while true {
            let step = lookup.next(now: now)
            guard case .query(let contact) = step else { return (queries, step) }
            queries.append(contact.id.high)
        }
    }
}
