import Foundation
import Logging

/// `--log-format json`: one JSON object per log line on stderr, for journald, Loki or `jq`:
/// `{"time":"2026-12-04T13:27:07.120Z","level":"info","label":"potluck.node","message":"…",
/// "metadata":{…}}` (metadata only when there is some; values as text).
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    struct Line: Encodable {
        let time: String
        let level: String
        let label: String
        let message: String
        let metadata: [String: String]?
    }

    func log(event: LogEvent) {
        let (level, message) = (event.level, event.message)
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let entry = Line(time: formatter.string(from: Date()), level: level.rawValue, label: label, message: message.description,
                         metadata: merged.isEmpty ? nil : merged.mapValues(\.description))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var bytes = try? encoder.encode(entry) else { return }
        bytes.append(UInt8(ascii: "\n"))
        FileHandle.standardError.write(bytes)
    }
}
