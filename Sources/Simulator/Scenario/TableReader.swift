// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import TOMLKit

/// Reads one TOML table strictly: every value is checked for its type and range, every error
/// names the dotted key, and ``finish()`` refuses keys nobody asked for (a misspelt key must not
/// be silently ignored).
struct TableReader {
    let table: TOMLTable
    let path: String
    private(set) var consumed: Set<String> = []

    init(_ table: TOMLTable, path: String) {
        self.table = table
        self.path = path
    }

    func key(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    func has(_ name: String) -> Bool { table.contains(key: name) }

    private mutating func value(_ name: String) -> (any TOMLValueConvertible)? {
        consumed.insert(name)
        return table[name]
    }

    mutating func double(_ name: String, default fallback: Double? = nil, in range: ClosedRange<Double>) throws(ScenarioError) -> Double {
        guard let raw = value(name) else {
            if let fallback { return fallback }
            throw ScenarioError(key: key(name), "missing (a number in \(range.lowerBound)…\(range.upperBound))")
        }
        guard let number = raw.double ?? raw.int.map(Double.init) else {
            throw ScenarioError(key: key(name), "must be a number, not a \(raw.type)")
        }
        guard number.isFinite, range.contains(number) else {
            throw ScenarioError(key: key(name), "must be in \(range.lowerBound)…\(range.upperBound) (got \(number))")
        }
        return number
    }

    mutating func int(_ name: String, default fallback: Int? = nil, in range: ClosedRange<Int>) throws(ScenarioError) -> Int {
        guard let raw = value(name) else {
            if let fallback { return fallback }
            throw ScenarioError(key: key(name), "missing (an integer in \(range.lowerBound)…\(range.upperBound))")
        }
        guard let number = raw.int else { throw ScenarioError(key: key(name), "must be an integer, not a \(raw.type)") }
        guard range.contains(number) else {
            throw ScenarioError(key: key(name), "must be in \(range.lowerBound)…\(range.upperBound) (got \(number))")
        }
        return number
    }

    mutating func string(_ name: String, default fallback: String? = nil, oneOf choices: [String]? = nil) throws(ScenarioError) -> String {
        guard let raw = value(name) else {
            if let fallback { return fallback }
            throw ScenarioError(key: key(name), "missing" + (choices.map { " (one of \($0.joined(separator: ", ")))" } ?? ""))
        }
        guard let text = raw.string else { throw ScenarioError(key: key(name), "must be a string, not a \(raw.type)") }
        if let choices, !choices.contains(text) {
            throw ScenarioError(key: key(name), "must be one of \(choices.joined(separator: ", ")) (got \"\(text)\")")
        }
        return text
    }

    mutating func bool(_ name: String, default fallback: Bool) throws(ScenarioError) -> Bool {
        guard let raw = value(name) else { return fallback }
        guard let flag = raw.bool else { throw ScenarioError(key: key(name), "must be true or false, not a \(raw.type)") }
        return flag
    }

    /// A sub-table, or nil when absent.
    mutating func table(_ name: String) throws(ScenarioError) -> TableReader? {
        guard let raw = value(name) else { return nil }
        guard let sub = raw.table else { throw ScenarioError(key: key(name), "must be a table, not a \(raw.type)") }
        return TableReader(sub, path: key(name))
    }

    /// The keys of this table, sorted.
    var keys: [String] { table.keys.sorted() }

    /// Fails on the first key (in sorted order) that was never read.
    func finish() throws(ScenarioError) {
        if let unknown = table.keys.sorted().first(where: { !consumed.contains($0) }) {
            throw ScenarioError(key: key(unknown), "unknown key")
        }
    }
}
