// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// The queries a node has sent and not yet seen answered, by transaction id (BEP 5 `t`).
///
/// Two parallel arrays, searched linearly: a node has a few queries out (α per lookup), at most
/// ``DHTNode/Configuration/maxPendingQueries``, and scanning a short array of 16-bit ids is
/// cheaper than hashing one. The order of the entries means nothing: removal moves the last
/// entry into the hole, and ``removeExpired(now:)`` sorts what it returns.
struct PendingQueries: Sendable {
    private var transactions: [UInt16] = []
    private var queries: [PendingQuery] = []

    var count: Int { transactions.count }

    /// Whether a query with this transaction id is out.
    func contains(_ transaction: KRPCTransactionID) -> Bool {
        transactions.contains(transaction.value)
    }

    /// Whether some query out satisfies `predicate`.
    func contains(where predicate: (PendingQuery) -> Bool) -> Bool {
        queries.contains(where: predicate)
    }

    /// Remembers `query`, sent with a transaction id not already out.
    mutating func insert(_ query: PendingQuery, for transaction: KRPCTransactionID) {
        transactions.append(transaction.value)
        queries.append(query)
    }

    /// The query sent with this transaction id, if it is out.
    func query(for transaction: KRPCTransactionID) -> PendingQuery? {
        transactions.firstIndex(of: transaction.value).map { queries[$0] }
    }

    /// Forgets the query sent with this transaction id and returns it.
    @discardableResult
    mutating func remove(_ transaction: KRPCTransactionID) -> PendingQuery? {
        guard let index = transactions.firstIndex(of: transaction.value) else { return nil }
        return remove(at: index)
    }

    /// Forgets every query that satisfies `predicate`.
    mutating func removeAll(where predicate: (PendingQuery) -> Bool) {
        var index = 0
        while index < queries.count {
            if predicate(queries[index]) { _ = remove(at: index) } else { index += 1 }
        }
    }

    /// Removes entry `index`, moving the last entry into its place.
    private mutating func remove(at index: Int) -> PendingQuery {
        transactions.swapAt(index, transactions.count - 1)
        queries.swapAt(index, queries.count - 1)
        transactions.removeLast()
        return queries.removeLast()
    }

    /// The earliest deadline of a query out, or `.max` when none is.
    var earliestDeadline: Timestamp {
        var earliest = Timestamp(nanoseconds: .max)
        for query in queries where query.deadline < earliest { earliest = query.deadline }
        return earliest
    }

    /// Forgets every query whose deadline is `now` or earlier and returns them in transaction
    /// id order (a deterministic order, whatever the order they were stored in).
    mutating func removeExpired(now: Timestamp) -> [PendingQuery] {
        var expired: [(transaction: UInt16, query: PendingQuery)] = []
        var index = 0
        while index < queries.count {
            if queries[index].deadline <= now {
                expired.append((transactions[index], remove(at: index)))
            } else {
                index += 1
            }
        }
        return expired.sorted { $0.transaction < $1.transaction }.map(\.query)
    }
}
