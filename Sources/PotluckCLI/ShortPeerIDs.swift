/// Peer ids shortened for a table as git shortens hashes: each id to the shortest prefix, at
/// least ``minimumLength`` characters (`pl1` and 9 more), that no other id of the same table
/// shares. `--json` always prints ids whole.
struct ShortPeerIDs {
    static let minimumLength = 12
    private var lengths: [String: Int] = [:]

    init(_ ids: some Sequence<String>) {
        let sorted = Set(ids).sorted()
        func common(_ a: String, _ b: String) -> Int { zip(a, b).prefix { $0 == $1 }.count }
        for (index, id) in sorted.enumerated() {
            var shared = 0
            if index > 0 { shared = max(shared, common(id, sorted[index - 1])) }
            if index + 1 < sorted.count { shared = max(shared, common(id, sorted[index + 1])) }
            lengths[id] = min(id.count, max(Self.minimumLength, shared + 1))
        }
    }

    /// `id` shortened; an id the table did not hold is shortened to the minimum.
    func callAsFunction(_ id: String) -> String { String(id.prefix(lengths[id] ?? Self.minimumLength)) }
}
