// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// A scenario file that cannot be run: the dotted key at fault (`platform.churn.session.shape`)
/// and what is wrong with it, in words a person can act on.
public struct ScenarioError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The dotted path of the offending key; empty for the file as a whole.
    public var key: String
    public var message: String

    public init(key: String, _ message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { key.isEmpty ? message : "\(key): \(message)" }
}
