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
        subcommands: [DemoCommand.self, InitCommand.self, IdCommand.self, NodeCommand.self, WaitCommand.self, StopCommand.self, ServiceCommand.self, DashboardCommand.self, DHTCommand.self, OfferCommand.self, OffersCommand.self, MatchCommand.self, RunCommand.self, AvoidCommand.self, JobsCommand.self, LogsCommand.self, FetchCommand.self, CancelCommand.self, StatusCommand.self, ReceiptsCommand.self, TrustCommand.self, SimulateCommand.self, StudyCommand.self])

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
            } else if let message = self.message(for: error).split(separator: "\n").first.map(String.init), !message.isEmpty {
                // A usage error points at the help of the very subcommand that was mistyped.
                let hint = error is CLIError ? "" : " (see '\(helpCommand(for: arguments))')"
                standardError("Error: \(message)\(hint)")
            }
            // An `ExitCode` carries no message: the command already said what happened (a guest's
            // own exit status, a disagreement between replicas).
            return status.rawValue
        }
    }

    /// `potluck SUB… --help` for the deepest subcommand named at the start of `arguments`.
    static func helpCommand(for arguments: [String]) -> String {
        var path = ["potluck"]
        var command: any ParsableCommand.Type = Potluck.self
        for argument in arguments {
            guard let next = command.configuration.subcommands.first(where: { $0._commandName == argument }) else { break }
            path.append(argument)
            command = next
        }
        return (path + ["--help"]).joined(separator: " ")
    }
}

/// Writes one line to standard error (Swift 6 forbids touching the C `stderr` global).
func standardError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

import Foundation
