// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Foundation

/// The JSON form of a run's report (spec 0010 §6, spec 0018): one object, keys sorted and in
/// snake_case, non-finite numbers as the strings `inf`, `-inf` and `nan`, and the computed
/// `passed` added for readers.
enum ReportJSON {
    static func encode(_ report: some Encodable, passed: Bool) throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var text = String(decoding: try encoder.encode(report), as: UTF8.self)
        text.removeLast()  // the closing brace
        return text + ",\"passed\":\(passed)}"
    }
}
