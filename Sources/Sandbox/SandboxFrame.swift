// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Bencode

/// One message from the `potluck-sandbox` child to its parent (spec 0014 §8).
///
/// On the child's stdout each frame is a 4-byte big-endian length followed by that many bytes
/// of canonical bencoding: `{t: "err", d: bytes}` (a stderr chunk), `{t: "use", f: fuel,
/// c: cpu_ms}` (usage), or `{t: "end", o: outcome}` (the encoded `GuestOutcome`, last).
enum SandboxFrame: Sendable, Equatable {
    case stderr([UInt8])
    case usage(fuelUsed: UInt64, cpuMilliseconds: Int64)
    case outcome(GuestOutcome)

    /// The length prefix and the bencoded body.
    func framed() -> [UInt8] {
        let body: BencodeValue
        switch self {
        case .stderr(let bytes): body = ["t": "err", "d": .bytes(bytes)]
        case .usage(let fuel, let cpu): body = ["t": "use", "f": .integer(Int64(clamping: fuel)), "c": .integer(cpu)]
        case .outcome(let outcome): body = ["t": "end", "o": .bytes(outcome.encoded())]
        }
        let bytes = body.encoded()
        let length = UInt32(clamping: bytes.count)
        return [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)] + bytes
    }

    /// Decodes one frame body (without its length prefix).
    init(body: [UInt8]) throws(SandboxError) {
        let value = try decodeCanonical(body, record: "a sandbox frame", maxLength: body.count)
        let frame = try DictionaryReader(value, record: "frame", allowed: ["t", "d", "f", "c", "o"])
        switch try frame.text("t") {
        case "err": self = .stderr(try frame.bytes("d"))
        case "use":
            self = .usage(fuelUsed: UInt64(clamping: max(0, try frame.integer("f"))), cpuMilliseconds: try frame.integer("c"))
        case "end": self = .outcome(try GuestOutcome(encoded: try frame.bytes("o")))
        case let other: throw SandboxError(.badEncoding, "frame.t '\(other)' is unknown")
        }
    }
}

/// Splits a byte stream into frame bodies, refusing any frame longer than `maxFrameBytes`.
struct FrameSplitter {
    let maxFrameBytes: Int
    private var buffer: [UInt8] = []

    init(maxFrameBytes: Int) { self.maxFrameBytes = maxFrameBytes }

    mutating func append(_ bytes: some Collection<UInt8>) { buffer.append(contentsOf: bytes) }

    /// The next complete frame body, or `nil` if more bytes are needed.
    mutating func next() throws(SandboxError) -> [UInt8]? {
        guard buffer.count >= 4 else { return nil }
        let length = Int(buffer[0]) << 24 | Int(buffer[1]) << 16 | Int(buffer[2]) << 8 | Int(buffer[3])
        guard length <= maxFrameBytes else {
            throw SandboxError(.hostFailure, "the sandbox child sent a \(length)-byte frame; the limit is \(maxFrameBytes)")
        }
        guard buffer.count >= 4 + length else { return nil }
        let body = Array(buffer[4..<(4 + length)])
        buffer.removeFirst(4 + length)
        return body
    }

    /// Bytes received that do not yet form a frame.
    var pendingCount: Int { buffer.count }
}
