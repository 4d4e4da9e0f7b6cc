// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import Bencode
import PotluckCrypto
import Records

/// One message of the job protocol, carried in one frame of the job channel
/// (`spec/0017-jobs.md` §2). The job and its outcome travel as the sandbox's canonical
/// encodings (`spec/0014-sandbox.md`), opaque here, so this module stays pure.
public enum JobMessage: Sendable, Hashable {
    /// Borrower → lender, first, when its `submit` would not fit the lender's pre-admission
    /// limit (`spec/0017-jobs.md` §2.1): may it send a wasm job of `bytes` bytes that needs
    /// `cores` cores, `memoryBytes`, `coreMilliseconds` of CPU and `wallMilliseconds` to run?
    case ask(bytes: Int, cores: Int, memoryBytes: Int64, coreMilliseconds: Int64, wallMilliseconds: Int64)
    /// Lender → borrower: the asked job passed admission; send its `submit` now.
    case go
    /// Borrower → lender: run this job (a `GuestJob` encoding) on `cores` cores.
    case submit(job: [UInt8], cores: Int)
    /// Borrower → lender: run this native task (a `NativeTask` encoding, `spec/0019-native-jobs.md`)
    /// on `cores` cores; `files` carries the bytes of its inputs, each named in the task by
    /// its BLAKE2b-256 (one copy per distinct content).
    case submitTask(task: [UInt8], files: [[UInt8]], cores: Int)
    /// The files one side lacks (by digest), each with the bytes it already holds, where the
    /// transfer resumes (`spec/0020-file-transfer.md`): the lender asks for a task's inputs, the
    /// borrower for its outputs. Empty when it has them all.
    case want([Bytes32: Int64])
    /// `data` (at most `chunkBytes`) at `offset` of the file `file`, whose whole size is `size`:
    /// an input (borrower → lender) or an output (lender → borrower).
    case chunk(file: Bytes32, offset: Int64, size: Int64, data: [UInt8])
    /// Lender → borrower: every slot is taken; the job waits at this place in line.
    case queued(position: Int)
    /// Lender → borrower: the job has started.
    case started
    /// Lender → borrower: the job is refused, and why (nothing ran).
    case refused(JobRefusal)
    /// Lender → borrower: the guest is paused (`true`) because the lender's owner uses the
    /// machine, or goes on again (`false`) (`spec/0017-jobs.md` §2.3, `spec/0019` §2.4).
    case paused(Bool)
    /// Lender → borrower: a chunk of the guest's stderr, as it comes.
    case stderr([UInt8])
    /// Lender → borrower: usage so far.
    case usage(fuelUsed: Int64, cpuMilliseconds: Int64)
    /// Lender → borrower: how it ended (a `GuestOutcome` encoding) and when it ran, Unix ms;
    /// for a native task, its output files, which follow by content when the borrower sends
    /// `want` (`spec/0020-file-transfer.md` §5).
    case result(outcome: [UInt8], start: Int64, end: Int64, files: [OutputFile] = [])
    /// Either way: a step of the receipt exchange (`spec/0011-records.md` §6).
    case receipt(ExchangeMessage)

    /// The largest message accepted: a job's module and inputs, or an outcome, fit in it.
    public static let maxEncodedLength = 64 << 20
    /// The largest `chunk` of an input file.
    public static let chunkBytes = 1 << 20
    /// The longest a lender keeps a guest paused (`paused`) before it gives the job back with a
    /// `not-idle` refusal, so the borrower runs it elsewhere (`spec/0017-jobs.md` §2.3).
    public static let pauseLimit: Duration = .seconds(600)
}

extension JobMessage {
    /// The canonical bencoding: a dictionary whose `t` names the message.
    public func encoded() -> [UInt8] {
        func message(_ type: String, _ fields: [String: BencodeValue] = [:]) -> [UInt8] {
            var entries: [[UInt8]: BencodeValue] = [Array("t".utf8): .bytes(Array(type.utf8))]
            for (key, value) in fields { entries[Array(key.utf8)] = value }
            return BencodeValue.dictionary(entries).encoded()
        }
        switch self {
        case .ask(let bytes, let cores, let memory, let cpu, let wall):
            return message("ask", ["bytes": .integer(Int64(bytes)), "cores": .integer(Int64(cores)), "memory": .integer(memory),
                                   "cpu": .integer(cpu), "wall": .integer(wall)])
        case .go: return message("go")
        case .submit(let job, let cores): return message("submit", ["job": .bytes(job), "cores": .integer(Int64(cores))])
        case .submitTask(let task, let files, let cores):
            return message("submit-task", ["task": .bytes(task), "files": .list(files.map { .bytes($0) }), "cores": .integer(Int64(cores))])
        case .want(let files):
            return message("want", ["files": .dictionary(Dictionary(uniqueKeysWithValues: files.map { ($0.key.bytes, BencodeValue.integer($0.value)) }))])
        case .chunk(let file, let offset, let size, let data):
            return message("chunk", ["file": .bytes(file.bytes), "offset": .integer(offset), "size": .integer(size), "data": .bytes(data)])
        case .queued(let position): return message("queued", ["position": .integer(Int64(position))])
        case .started: return message("started")
        case .paused(let on): return message("paused", ["on": .integer(on ? 1 : 0)])
        case .refused(let refusal):
            return message("refused", ["code": .bytes(Array(refusal.code.rawValue.utf8)), "reason": .bytes(Array(refusal.reason.utf8))])
        case .stderr(let bytes): return message("stderr", ["data": .bytes(bytes)])
        case .usage(let fuel, let cpu): return message("usage", ["fuel": .integer(fuel), "cpu": .integer(cpu)])
        case .result(let outcome, let start, let end, let files):
            var fields: [String: BencodeValue] = ["outcome": .bytes(outcome), "start": .integer(start), "end": .integer(end)]
            if !files.isEmpty {
                fields["files"] = .dictionary(Dictionary(uniqueKeysWithValues: files.map {
                    (Array($0.name.utf8), BencodeValue.list([.bytes($0.digest.bytes), .integer($0.size)]))
                }))
            }
            return message("result", fields)
        case .receipt(.propose(let receipt)): return message("propose", ["receipt": .bytes(receipt.encoded())])
        case .receipt(.countersign(let receipt)): return message("countersign", ["receipt": .bytes(receipt.encoded())])
        case .receipt(.refuse(let id, let refusal)):
            return message("refuse-receipt", ["id": .bytes(id.bytes), "code": .bytes(Array(refusal.code.rawValue.utf8)),
                                              "reason": .bytes(Array(refusal.message.utf8))])
        }
    }

    /// Decodes one message strictly; unknown types, missing or extra keys are errors that say which.
    public init(encoded bytes: [UInt8]) throws(JobProtocolError) {
        let value: BencodeValue
        do { value = try BencodeDecoder(mode: .strict, maxDepth: 3, maxLength: Self.maxEncodedLength).decode(bytes) } catch {
            throw JobProtocolError("the message is not canonical bencode: \(error.message)")
        }
        guard case .dictionary(let entries) = value, let type = entries[Array("t".utf8)]?.string else {
            throw JobProtocolError("the message is not a dictionary with a `t` (type) string")
        }
        var fields = MessageFields(entries: entries, type: type)
        switch type {
        case "ask":
            self = .ask(bytes: Int(try fields.integer("bytes", in: 0...Int64(Self.maxEncodedLength))),
                        cores: Int(try fields.integer("cores", in: 1...4096)), memoryBytes: try fields.integer("memory", in: 0...Int64.max),
                        coreMilliseconds: try fields.integer("cpu", in: 0...Int64.max), wallMilliseconds: try fields.integer("wall", in: 0...Int64.max))
        case "go": self = .go
        case "submit": self = .submit(job: try fields.bytes("job"), cores: Int(try fields.integer("cores", in: 1...4096)))
        case "submit-task":
            guard case .list(let values) = try fields.take("files"), let files = Optional(values.compactMap(\.bytes)), files.count == values.count else {
                throw JobProtocolError("submit-task: `files` must be a list of byte strings")
            }
            self = .submitTask(task: try fields.bytes("task"), files: files, cores: Int(try fields.integer("cores", in: 1...4096)))
        case "want":
            guard case .dictionary(let entries) = try fields.take("files") else { throw JobProtocolError("want: `files` must be a dictionary") }
            var files: [Bytes32: Int64] = [:]
            for (key, value) in entries {
                guard let digest = Bytes32(key), case .integer(let offset) = value, offset >= 0 else {
                    throw JobProtocolError("want: `files` maps 32-byte digests to offsets of at least 0")
                }
                files[digest] = offset
            }
            self = .want(files)
        case "chunk":
            guard let file = Bytes32(try fields.bytes("file")) else { throw JobProtocolError("chunk: `file` must be 32 bytes") }
            let offset = try fields.integer("offset", in: 0...Int64.max), size = try fields.integer("size", in: 0...Int64.max)
            let data = try fields.bytes("data")
            guard data.count <= Self.chunkBytes, offset + Int64(data.count) <= size else {
                throw JobProtocolError("chunk: at most \(Self.chunkBytes) bytes, within the file's size")
            }
            self = .chunk(file: file, offset: offset, size: size, data: data)
        case "queued": self = .queued(position: Int(try fields.integer("position", in: 1...1_000_000)))
        case "started": self = .started
        case "paused": self = .paused(try fields.integer("on", in: 0...1) == 1)
        case "refused":
            let code = JobRefusal.Code(rawValue: try fields.text("code"))
            self = .refused(JobRefusal(code, try fields.text("reason")))
        case "stderr": self = .stderr(try fields.bytes("data"))
        case "usage": self = .usage(fuelUsed: try fields.integer("fuel", in: 0...Int64.max), cpuMilliseconds: try fields.integer("cpu", in: 0...Int64.max))
        case "result":
            self = .result(outcome: try fields.bytes("outcome"), start: try fields.integer("start", in: 0...Int64.max),
                           end: try fields.integer("end", in: 0...Int64.max), files: try fields.outputFiles())
        case "propose": self = .receipt(.propose(try fields.receipt()))
        case "countersign": self = .receipt(.countersign(try fields.receipt()))
        case "refuse-receipt":
            let id = try fields.bytes("id")
            guard let receiptID = Bytes32(id) else { throw JobProtocolError("refuse-receipt: `id` must be 32 bytes") }
            let code = ExchangeRefusal.Code(rawValue: try fields.text("code"))
            self = .receipt(.refuse(receiptID, ExchangeRefusal(code, try fields.text("reason"))))
        default: throw JobProtocolError("unknown message type '\(type)'")
        }
        try fields.finish()
    }
}

/// One output file of a native task, named in its `result` and sent by content
/// (`spec/0020-file-transfer.md` §5).
public struct OutputFile: Sendable, Hashable {
    /// The most output files one task may name.
    public static let maxCount = 10_000

    /// The flat file name the task gave it.
    public var name: String
    /// BLAKE2b-256 of its bytes.
    public var digest: Bytes32
    public var size: Int64

    public init(name: String, digest: Bytes32, size: Int64) {
        self.name = name
        self.digest = digest
        self.size = size
    }
}

/// A job protocol violation: the peer sent something this version cannot read.
public struct JobProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Reads the fields of one message, refusing keys it was not asked for.
private struct MessageFields {
    let entries: [[UInt8]: BencodeValue]
    let type: String
    var used: Set<[UInt8]> = [Array("t".utf8)]

    init(entries: [[UInt8]: BencodeValue], type: String) {
        self.entries = entries
        self.type = type
    }

    mutating func take(_ key: String) throws(JobProtocolError) -> BencodeValue {
        used.insert(Array(key.utf8))
        guard let value = entries[Array(key.utf8)] else { throw JobProtocolError("\(type): missing `\(key)`") }
        return value
    }

    mutating func bytes(_ key: String) throws(JobProtocolError) -> [UInt8] {
        guard let bytes = try take(key).bytes else { throw JobProtocolError("\(type): `\(key)` must be a byte string") }
        return bytes
    }

    mutating func text(_ key: String) throws(JobProtocolError) -> String {
        let raw = try bytes(key)
        guard raw.count <= 1000, let text = String(validating: raw, as: UTF8.self) else {
            throw JobProtocolError("\(type): `\(key)` must be UTF-8 text of at most 1000 bytes")
        }
        return text
    }

    mutating func integer(_ key: String, in range: ClosedRange<Int64>) throws(JobProtocolError) -> Int64 {
        guard let number = try take(key).integer else { throw JobProtocolError("\(type): `\(key)` must be an integer") }
        guard range.contains(number) else { throw JobProtocolError("\(type): `\(key)` is \(number); it must be in \(range)") }
        return number
    }

    /// `result`'s optional `files`: name → [digest (32 bytes), size ≥ 0], at most
    /// `OutputFile.maxCount`, each name UTF-8; sorted by name.
    mutating func outputFiles() throws(JobProtocolError) -> [OutputFile] {
        guard entries[Array("files".utf8)] != nil else { return [] }
        guard case .dictionary(let files) = try take("files"), !files.isEmpty, files.count <= OutputFile.maxCount else {
            throw JobProtocolError("\(type): `files` must be a dictionary of 1 to \(OutputFile.maxCount) entries")
        }
        var result: [OutputFile] = []
        for (key, value) in files {
            guard let name = String(validating: key, as: UTF8.self), !name.isEmpty, key.count <= 255,
                  case .list(let parts) = value, parts.count == 2, let raw = parts[0].bytes, let digest = Bytes32(raw),
                  case .integer(let size) = parts[1], size >= 0
            else { throw JobProtocolError("\(type): `files` maps UTF-8 names of 1 to 255 bytes to [32-byte digest, size ≥ 0]") }
            result.append(OutputFile(name: name, digest: digest, size: size))
        }
        return result.sorted { $0.name < $1.name }
    }

    mutating func receipt() throws(JobProtocolError) -> Receipt {
        do { return try Receipt(encoded: try bytes("receipt")) } catch let error as RecordError {
            throw JobProtocolError("\(type): the receipt is not valid: \(error)")
        } catch { throw JobProtocolError("\(type): \(error)") }
    }

    func finish() throws(JobProtocolError) {
        for key in entries.keys where !used.contains(key) {
            throw JobProtocolError("\(type): unknown key `\(String(decoding: key, as: UTF8.self))`")
        }
    }
}
