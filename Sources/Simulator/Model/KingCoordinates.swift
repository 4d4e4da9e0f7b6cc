// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Foundation

/// The King data set (Gummadi, Saroiu & Gribble, "King: estimating latency between arbitrary
/// Internet end hosts", IMW 2002) as p2psim's 1740 hosts reduced to Vivaldi coordinates (Dabek
/// et al., SIGCOMM 2004): a 2-D position and a height, in milliseconds.
///
/// The file is SimGrid's `examples/platforms/syscoord/median_p2psim.syscoord` (LGPL-2.1), kept
/// with its source and licence note in `simulations/data/`. Each line reads
/// `INDEX X Y h HEIGHT`.
public struct KingCoordinates: Sendable {
    public struct Host: Sendable, Hashable {
        public var x: Float
        public var y: Float
        public var height: Float
    }

    public var hosts: [Host]

    public static let empty = KingCoordinates(hosts: [])

    public init(hosts: [Host]) { self.hosts = hosts }

    /// Parses the text of a `.syscoord` file; throws on the first malformed line, naming it.
    public init(text: String) throws(ScenarioError) {
        var hosts: [Host] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let fields = line.split(separator: " ")
            if fields.isEmpty { continue }
            guard fields.count == 5, fields[3] == "h", let x = Float(fields[1]), let y = Float(fields[2]),
                  let height = Float(fields[4]), Int(fields[0]) == hosts.count else {
                throw ScenarioError(key: "platform.latency.file", "line \(number + 1) is not 'INDEX X Y h HEIGHT'")
            }
            hosts.append(Host(x: x, y: y, height: height))
        }
        guard !hosts.isEmpty else { throw ScenarioError(key: "platform.latency.file", "holds no coordinates") }
        self.hosts = hosts
    }

    /// Reads a `.syscoord` file.
    public init(contentsOf path: String) throws(ScenarioError) {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ScenarioError(key: "platform.latency.file", "cannot read \(path)")
        }
        try self.init(text: text)
    }
}
