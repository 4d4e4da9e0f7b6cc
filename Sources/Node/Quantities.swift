/// Sizes and durations as people type them on the command line and in `config.toml`:
/// `512MiB`, `4GiB`, `1.5GB`, `2048` (bytes); `30s`, `5m`, `1h30m`, `250ms`.
public enum Quantities {
    private static let sizeUnits: [(suffix: String, factor: Double)] = [
        ("KiB", 1024), ("MiB", 1024 * 1024), ("GiB", 1024 * 1024 * 1024), ("TiB", 1024 * 1024 * 1024 * 1024),
        ("kB", 1e3), ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("B", 1),
    ]

    /// Bytes in `text`, or `nil` when it is not a size (a number and one of B, kB, MB, GB, TB,
    /// KiB, MiB, GiB, TiB; no unit means bytes).
    public static func bytes(_ text: String) -> Int64? {
        let trimmed = text.replacingOccurrences(of: " ", with: "")
        for (suffix, factor) in sizeUnits where trimmed.hasSuffix(suffix) {
            return scaled(String(trimmed.dropLast(suffix.count)), by: factor)
        }
        return scaled(trimmed, by: 1)
    }

    /// `bytes` for people, in MiB or GiB with one decimal (`1.5GiB`, `300.0MiB`).
    public static func text(bytes: Int64) -> String {
        let mebibytes = Double(bytes) / 1_048_576
        return mebibytes >= 1024 ? String(format: "%.1fGiB", mebibytes / 1024) : String(format: "%.1fMiB", mebibytes)
    }

    /// A duration in `text`, or `nil`: one or more number-unit pairs with units ms, s, m, h, d
    /// (`1h30m`); a bare number means seconds.
    public static func duration(_ text: String) -> Duration? {
        if let seconds = Double(text), seconds >= 0, seconds.isFinite { return .milliseconds(Int64(seconds * 1000)) }
        var total: Double = 0, number = "", index = text.startIndex, sawPair = false
        while index < text.endIndex {
            let char = text[index]
            if char.isNumber || char == "." {
                number.append(char)
                index = text.index(after: index)
                continue
            }
            var unit = String(char)
            index = text.index(after: index)
            if unit == "m", index < text.endIndex, text[index] == "s" {
                unit = "ms"
                index = text.index(after: index)
            }
            let factor: Double? = ["ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400][unit]
            guard let factor, let value = Double(number), value >= 0 else { return nil }
            total += value * factor
            number = ""
            sawPair = true
        }
        guard sawPair, number.isEmpty, total.isFinite, total < 1e12 else { return nil }
        return .milliseconds(Int64((total * 1000).rounded()))
    }

    private static func scaled(_ number: String, by factor: Double) -> Int64? {
        guard let value = Double(number), value >= 0, value.isFinite, value * factor < 9e18 else { return nil }
        return Int64((value * factor).rounded())
    }
}

import Foundation
