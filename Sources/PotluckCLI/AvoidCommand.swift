import ArgumentParser
import Foundation
import Node
import PotluckCrypto

/// `potluck avoid`: the lenders this borrower sends no work to (`spec/0019-native-jobs.md`
/// §6.3) — those whose result lost a vote of replicas, and those named here.
struct AvoidCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "avoid", abstract: "List, add or forget the lenders you send no work to.",
        discussion: """
            A lender whose result lost a vote of replicas (potluck run --replicas K) is avoided \
            from then on: its offers are ruled out. An honest lender with another version of a \
            tool can lose a vote too; forget it to use it again. A lender that refused a task \
            because its owner came back to the machine (not-idle) is left alone for ten minutes.
            """,
        subcommands: [List.self, Add.self, Forget.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the lenders you avoid, and why.")
        @OptionGroup var data: DataDirectoryOptions
        @Flag(help: "Print JSON lines.") var json = false

        func run() async throws {
            let now = Date()
            let avoided = try withAvoidedLenders(data) { try $0.all() }.filter { $0.value.isInForce(at: now) }.sorted { $0.value.since < $1.value.since }
            for (lender, entry) in avoided {
                if json {
                    try printJSON(AvoidedLine(lender: lender.peerID, since_ms: entry.since, until_ms: entry.until, reason: entry.reason))
                } else {
                    let since = Date(timeIntervalSince1970: Double(entry.since) / 1000).formatted(.iso8601)
                    let until = entry.until.map { "  until " + Date(timeIntervalSince1970: Double($0) / 1000).formatted(.iso8601) } ?? ""
                    print("\(lender.peerID)  since \(since)\(until)  \(entry.reason)")
                }
            }
            if !json { print("\(avoided.count) lender(s) avoided") }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send no more work to PEER.")
        @OptionGroup var data: DataDirectoryOptions
        @Argument(help: "The lender's peer id (or 64 hex digits).") var peer: String
        @Option(help: "Why, for your own record.") var reason = "named by you"

        func run() async throws {
            let lender = try parsePeer(peer)
            try withAvoidedLenders(data) { try $0.add(lender, reason: reason) }
            print("avoiding \(lender.peerID): its offers are ruled out ('potluck avoid forget' undoes it)")
        }
    }

    struct Forget: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Use PEER again.")
        @OptionGroup var data: DataDirectoryOptions
        @Argument(help: "The lender's peer id (or 64 hex digits).") var peer: String

        func run() async throws {
            let lender = try parsePeer(peer)
            guard try withAvoidedLenders(data, { try $0.forget(lender) }) else {
                throw CLIError("\(lender.peerID) is not avoided; 'potluck avoid' lists those that are")
            }
            print("no longer avoiding \(lender.peerID)")
        }
    }
}

/// `potluck avoid --json`: one line per avoided lender.
struct AvoidedLine: Codable {
    let lender: String
    let since_ms: Int64
    let until_ms: Int64?
    let reason: String
}

func withAvoidedLenders<T>(_ data: DataDirectoryOptions, _ body: (AvoidedLenders) throws -> T) throws -> T {
    try withEnvironment(data) { try body(try AvoidedLenders(environment: $0)) }
}
