// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Foundation
import Storage

/// A fresh directory under the system temporary directory, removed by `remove()`.
final class TemporaryDirectory {
    let path: String

    init(_ label: String = "storage") {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("potluck-\(label)-\(UUID().uuidString)").path
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// The UTF-8 bytes of `text`.
func b(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Options with fsync disabled, for tests that do not test durability.
func fastOptions(mapSize: Int = 1 << 20) -> Environment.Options {
    var options = Environment.Options()
    options.mapSize = mapSize
    options.noSync = true
    return options
}

/// A marker error thrown from transaction bodies.
struct Marker: Error {}
