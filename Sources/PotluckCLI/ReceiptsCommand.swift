import ControlAPI
import ArgumentParser
import PotluckCrypto
import Foundation
import Node
import Records
import Storage

/// `potluck receipts`: the node's ledger of reciprocity receipts (`spec/0011-records.md`).
struct ReceiptsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receipts", abstract: "List, export and import reciprocity receipts.",
        subcommands: [List.self, Export.self, Import.self, Publish.self, Sync.self], defaultSubcommand: List.self)

    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish this node's latest receipts on the DHT, with an index under its key.")
        @OptionGroup var data: DataDirectoryOptions

        func run() async throws {
            let result = try await callNode(data, .publishReceipts)
            print("published \(result.published) receipt(s)")
        }
    }

    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Gather from the DHT the receipts that involve PEER, checking every signature.")
        @OptionGroup var data: DataDirectoryOptions
        @Argument(help: "The peer (peer id or 64 hex digits).") var peer: String

        func run() async throws {
            let result = try await callNode(data, .syncReceipts(peer: peer))
            print("\(result.listed) listed, \(result.fetched) fetched, \(result.added) new receipt(s) added")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the receipts this node knows.")
        @OptionGroup var data: DataDirectoryOptions
        @Option(help: "Only receipts involving this peer (peer id or 64 hex digits).") var peer: String?
        @Flag(help: "Print JSON lines.") var json = false

        func run() async throws {
            let filter = try peer.map(parsePeer)
            let receipts = try withReceiptStore(data) { try $0.all() }.filter { receipt in
                filter.map { receipt.body.provider == $0 || receipt.body.consumer == $0 } ?? true
            }
            let short = ShortPeerIDs(receipts.flatMap { [$0.body.provider.peerID, $0.body.consumer.peerID] })
            for receipt in receipts {
                if json { try printJSON(ReceiptLine(receipt)) } else {
                    let line = ReceiptLine(receipt)
                    print("\(line.id.prefix(16))…  \(short(line.provider)) → \(short(line.consumer))  \(line.relayed_bytes.map { "relayed \($0) bytes" } ?? "\(line.core_seconds) core-s")  seq \(line.sequence)\(line.complete ? "" : "  (pending: one signature)")")
                }
            }
            if !json { print("\(receipts.count) receipt(s)") }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write every receipt to FILE as JSON lines.")
        @OptionGroup var data: DataDirectoryOptions
        @Argument(help: "The file to write.") var file: String

        func run() async throws {
            let receipts = try withReceiptStore(data) { try $0.all() }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            var text = Data()
            for receipt in receipts {
                text.append(try encoder.encode(ReceiptLine(receipt)))
                text.append(UInt8(ascii: "\n"))
            }
            do { try text.write(to: URL(fileURLWithPath: file)) } catch {
                throw CLIError("cannot write \(file): \(error.localizedDescription)")
            }
            print("exported \(receipts.count) receipt(s) to \(file)")
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read receipts from FILE (JSON lines), checking every signature.",
            discussion: "A bad line is reported with its number and the reason; every other line is still imported.")
        @OptionGroup var data: DataDirectoryOptions
        @Argument(help: "The file to read.") var file: String

        func run() async throws {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw CLIError("cannot read \(file) as UTF-8 text")
            }
            var imported = 0, duplicates = 0, rejected = 0
            try withReceiptStore(data) { store in
                var parsed: [(line: Int, receipt: Receipt)] = []
                for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
                    do {
                        parsed.append((index + 1, try Self.parse(line)))
                    } catch {
                        rejected += 1
                        standardError("line \(index + 1): \(error)")
                    }
                }
                // Every signature is checked; the accepted receipts are written in one transaction.
                for (entry, outcome) in zip(parsed, try store.add(contentsOf: parsed.map(\.receipt))) {
                    switch outcome {
                    case .success: imported += 1
                    // Importing a file twice is not an error: the receipts are simply held already.
                    case .failure(let error) where error.code == .replayed: duplicates += 1
                    case .failure(let error):
                        rejected += 1
                        standardError("line \(entry.line): \(error)")
                    }
                }
            }
            print("imported \(imported) receipt(s), \(duplicates) already held, rejected \(rejected)")
            if rejected > 0 { throw CLIError("\(rejected) receipt(s) of \(file) rejected; the lines above say why") }
        }

        static func parse(_ line: Substring) throws -> Receipt {
            struct Line: Decodable { let encoded: String? }
            guard let object = try? JSONDecoder().decode(Line.self, from: Data(line.utf8)) else {
                throw CLIError("not a JSON object")
            }
            guard let hex = object.encoded, let bytes = Hex.decode(hex) else {
                throw CLIError("no 'encoded' field with the receipt's hex bytes")
            }
            do { return try Receipt(encoded: bytes) } catch { throw CLIError("\(error)") }
        }
    }
}

/// One receipt as a JSON line: readable fields, and `encoded`, the authoritative stored form.
struct ReceiptLine: Codable {
    let id, provider, consumer, encoded: String
    let core_seconds: Double
    let memory_byte_seconds, start_ms, end_ms, sequence: Int64
    /// Bytes a relay moved for its consumer (spec 0021 §5.5); absent for a job.
    let relayed_bytes: Int64?
    let complete: Bool

    init(_ receipt: Receipt) {
        id = receipt.id.hex
        provider = receipt.body.provider.peerID
        consumer = receipt.body.consumer.peerID
        core_seconds = Double(receipt.body.coreMilliseconds) / 1000
        memory_byte_seconds = receipt.body.memoryByteSeconds
        start_ms = receipt.body.start
        end_ms = receipt.body.end
        sequence = receipt.body.sequence
        relayed_bytes = receipt.body.relayedBytes == 0 ? nil : receipt.body.relayedBytes
        complete = receipt.isComplete
        encoded = Hex.encode(receipt.encoded())
    }
}

func parsePeer(_ text: String) throws -> PublicKey {
    do { return try PublicKey(peerID: text) } catch { throw CLIError(error.message) }
}

/// Opens the data directory's LMDB environment for the receipt ledger.
func withReceiptStore<T>(_ data: DataDirectoryOptions, _ body: (ReceiptStore) throws -> T) throws -> T {
    try withEnvironment(data) { try body(try ReceiptStore(environment: $0)) }
}

/// Runs `body` with the data directory's LMDB environment (the node may have it open too:
/// LMDB serves several processes), closed afterwards.
func withEnvironment<T>(_ data: DataDirectoryOptions, _ body: (Environment) throws -> T) throws -> T {
    let directory = data.directory
    guard FileManager.default.fileExists(atPath: directory.identityPath) else {
        throw CLIError("no identity at \(directory.path): run 'potluck init' first (or pass the right --data-dir)")
    }
    let environment: Environment
    do { environment = try Environment(path: directory.databasePath) } catch {
        throw CLIError("cannot open the database in \(directory.databasePath): \(error)")
    }
    defer { environment.close() }
    return try body(environment)
}
