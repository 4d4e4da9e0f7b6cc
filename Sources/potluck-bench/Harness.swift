import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps a value alive so the optimiser cannot delete the work that produced it.
@inline(never)
func blackHole<T>(_ value: T) { withExtendedLifetime(value) {} }

/// Monotonic time in nanoseconds.
func nowNanoseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// One line of results: Potluck's rate beside the reference's, measured in the same run.
struct BenchResult {
    let bench: String
    let caseName: String
    let unit: String
    let potluck: Double
    let reference: Double
    var extra: [(String, Double)] = []
    /// A ratio defined otherwise than potluck / reference (a bench that says so in its docs).
    var ratioOverride: Double? = nil

    /// Potluck's speed over the reference's: above 1 means Potluck is faster.
    var ratio: Double { ratioOverride ?? potluck / reference }

    /// One JSON object: `bench`, `case`, `unit`, `potluck`, `reference`, `ratio` and the extra
    /// figures, keys sorted; a figure not measured is `null`.
    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]  // the same line for the same figures
        return (try? encoder.encode(JSONLine(self))).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

/// ``BenchResult`` as `Codable` writes it, rounded; `null` for a figure not measured.
private struct JSONLine: Encodable {
    let result: BenchResult
    init(_ result: BenchResult) { self.result = result }

    struct Key: CodingKey {
        let stringValue: String
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(result.bench, forKey: Key("bench"))
        try container.encode(result.caseName, forKey: Key("case"))
        try container.encode(result.unit, forKey: Key("unit"))
        func number(_ value: Double, _ key: String, digits: Int) throws {
            if value.isFinite { try container.encode(rounded(value, digits: digits), forKey: Key(key)) } else { try container.encodeNil(forKey: Key(key)) }
        }
        try number(result.potluck, "potluck", digits: abs(result.potluck) < 10 ? 4 : 1)
        try number(result.reference, "reference", digits: abs(result.reference) < 10 ? 4 : 1)
        try number(result.ratio, "ratio", digits: 4)
        for (name, value) in result.extra { try number(value, name, digits: 4) }
    }
}

func rounded(_ value: Double, digits: Int) -> Double {
    let scale = pow(10, Double(digits))
    return (value * scale).rounded() / scale
}

func format(_ value: Double, digits: Int = 1) -> String {
    var text = String(value)
    if let dot = text.firstIndex(of: "."), text.distance(from: dot, to: text.endIndex) > digits + 1 {
        let rounded = (value * pow(10, Double(digits))).rounded() / pow(10, Double(digits))
        text = String(rounded)
    }
    return text
}

/// Measures `potluck` and `reference` side by side: `rounds` alternating rounds of
/// `iterations` calls each, and reports the median rate of each in operations per second.
/// Alternating rounds spreads the machine's noise over both sides evenly.
func compare(
    bench: String, caseName: String, iterations: Int, rounds: Int = 7,
    potluck: () -> Void, reference: () -> Void
) -> BenchResult {
    var potluckRates: [Double] = [], referenceRates: [Double] = []
    for _ in 0..<iterations / 10 { potluck(); reference() }  // warm up caches and branch predictors
    for round in 0..<rounds {
        for side in round % 2 == 0 ? [true, false] : [false, true] {
            let start = nowNanoseconds()
            if side { for _ in 0..<iterations { potluck() } } else { for _ in 0..<iterations { reference() } }
            let rate = Double(iterations) / (Double(nowNanoseconds() - start) / 1e9)
            if side { potluckRates.append(rate) } else { referenceRates.append(rate) }
        }
    }
    return BenchResult(bench: bench, caseName: caseName, unit: "ops/s",
                       potluck: median(potluckRates), reference: median(referenceRates))
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// Prints results as a table for people, or as JSON lines.
func report(_ results: [BenchResult], json: Bool) {
    if json {
        for result in results { print(result.json) }
        return
    }
    func number(_ value: Double, _ unit: String) -> String {
        guard value.isFinite else { return "-" }
        return (abs(value) < 10 ? format(value, digits: 3) : format(value, digits: 1)) + " " + unit
    }
    let header = ["bench", "case", "potluck", "reference", "ratio"]
    let rows = results.map { r in
        [r.bench, r.caseName, number(r.potluck, r.unit), number(r.reference, r.unit), r.ratio.isFinite ? format(r.ratio, digits: 3) : "-"]
    }
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max()! + 2 }
    for row in [header] + rows {
        print(zip(row, widths).map { $0 + String(repeating: " ", count: $1 - $0.count) }.joined())
    }
}
