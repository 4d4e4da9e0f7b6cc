// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// Which connections a lender keeps when too many arrive (`spec/0015-job-channel.md` §3.1),
/// sans-I/O: the server reports arrivals, admissions and departures; the gate answers each
/// arrival with what to do.
///
/// The rule is the same for the two caps, per address and in total: a connection over a cap
/// pushes out the oldest connection of that scope whose job was not admitted yet (a stranger
/// still handshaking, or one that has not said what it wants); when every one was admitted,
/// the newcomer is refused. An attacker holding idle connections therefore loses them to any
/// borrower, and a borrower whose job runs never loses its connection.
struct ConnectionGate: Sendable {
    struct Limits: Sendable, Equatable {
        /// Connections open at once.
        var total: Int
        /// Connections open at once from one address (IPv4) or one /64 (IPv6).
        var perAddress: Int
    }

    /// What to do with an arriving connection.
    enum Verdict: Sendable, Equatable {
        case enter
        /// Enter, and drop the connection `id`, which was not admitted yet.
        case enterEvicting(Int)
        /// Refuse the newcomer, for `reason`.
        case refuse(String)
    }

    private struct Open {
        var key: String
        var admitted = false
    }

    let limits: Limits
    /// By id; ids grow with arrival time, so the smallest is the oldest.
    private var open: [Int: Open] = [:]
    private var perKey: [String: Int] = [:]

    init(limits: Limits) {
        precondition(limits.total > 0 && limits.perAddress > 0, "a gate admits at least one connection")
        self.limits = limits
    }

    /// Connections open now.
    var count: Int { open.count }

    /// Connection `id` (larger than every earlier one) arrives from the address `key`.
    mutating func arrive(_ id: Int, from key: String) -> Verdict {
        var verdict = Verdict.enter
        if perKey[key, default: 0] >= limits.perAddress {
            guard let oldest = oldestPending(from: key) else {
                return .refuse("\(limits.perAddress) connections from \(key) are already running jobs here")
            }
            verdict = .enterEvicting(oldest)
        } else if open.count >= limits.total {
            guard let oldest = oldestPending(from: nil) else {
                return .refuse("all \(limits.total) connections are running jobs here")
            }
            verdict = .enterEvicting(oldest)
        }
        if case .enterEvicting(let evicted) = verdict { leave(evicted) }
        open[id] = Open(key: key)
        perKey[key, default: 0] += 1
        return verdict
    }

    /// The job on connection `id` was admitted: the connection is never evicted.
    mutating func admit(_ id: Int) {
        open[id]?.admitted = true
    }

    /// Connection `id` closed (or was evicted).
    mutating func leave(_ id: Int) {
        guard let gone = open.removeValue(forKey: id) else { return }
        perKey[gone.key, default: 1] -= 1
        if perKey[gone.key] == 0 { perKey[gone.key] = nil }
    }

    private func oldestPending(from key: String?) -> Int? {
        open.lazy.filter { !$0.value.admitted && (key == nil || $0.value.key == key) }.map(\.key).min()
    }
}
