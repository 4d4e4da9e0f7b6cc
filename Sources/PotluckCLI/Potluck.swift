import ArgumentParser

/// The `potluck` command: the root of every subcommand. The executable's `main` only calls
/// ``Potluck/main()``; everything lives here so tests can drive it.
public struct Potluck: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "potluck",
        abstract: "The real cloud, made of everyone's idle machines.",
        discussion: """
            Lend a share of an idle machine, borrow the surplus of others; giving is recorded as \
            signed receipts, and trust scores decide who is served first.
            """,
        version: "0.1.0",
        subcommands: [DemoCommand.self, InitCommand.self, IdCommand.self, NodeCommand.self, DHTCommand.self, OfferCommand.self, OffersCommand.self, MatchCommand.self, RunCommand.self, JobsCommand.self, LogsCommand.self, FetchCommand.self, CancelCommand.self, StatusCommand.self, ReceiptsCommand.self, TrustCommand.self, SimulateCommand.self])

    public init() {}
}

extension Potluck {
    /// Parses `arguments`, runs the command and returns the process exit status. Help and
    /// version go to stdout; any error is **one line** on stderr that says what to do.
    public static func run(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) async -> Int32 {
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return 0
        } catch {
            let status = exitCode(for: error)
            if status.isSuccess {
                print(fullMessage(for: error))
            } else {
                let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
                let hint = error is CLIError ? "" : " (see 'potluck --help')"
                standardError("Error: \(message)\(hint)")
            }
            return status.rawValue
        }
    }
}

/// Writes one line to standard error (Swift 6 forbids touching the C `stderr` global).
func standardError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

import Foundation
