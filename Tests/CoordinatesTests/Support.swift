// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import Coordinates
import Foundation


/// The King data set as SimGrid's Vivaldi coordinates: `simulations/data/median_p2psim.syscoord`,
/// lines `INDEX X Y h HEIGHT` in milliseconds (see the README beside it).
enum King {
    static func load() throws -> [VivaldiCoordinate] {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let url = root.appendingPathComponent("simulations/data/median_p2psim.syscoord")
        let text = try String(contentsOf: url, encoding: .utf8)
        var hosts: [VivaldiCoordinate] = []
        for (number, line) in text.split(separator: "\n").enumerated() {
            let f = line.split(separator: " ")
            guard f.count == 5, Int(f[0]) == number, f[3] == "h",
                let x = Double(f[1]), let y = Double(f[2]), let h = Double(f[4])
            else { throw KingError.badLine(number) }
            hosts.append(VivaldiCoordinate(vector: [x, y], height: h))
        }
        return hosts
    }

    enum KingError: Error { case badLine(Int) }
}

/// The median of `values` (mean of the two middle ones when the count is even).
func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    precondition(!s.isEmpty)
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}
