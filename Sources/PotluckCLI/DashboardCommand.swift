import ArgumentParser
import ControlAPI
import Foundation
import Node

/// `potluck dashboard`: opens the running node's web dashboard (spec 0008 §1) in the browser,
/// or prints its URL with the token.
struct DashboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard", abstract: "Open the running node's dashboard in a web browser.",
        discussion: "The URL carries the token of DIR/api.token: whoever has it drives the node, so share it with no one.")
    @OptionGroup var data: DataDirectoryOptions
    @Flag(help: "Print the URL instead of opening it.") var printURL = false

    func run() async throws {
        guard let base = try await callNode(data, .nodeInfo).http else {
            throw CLIError("the node serves no dashboard: restart it without --no-http")
        }
        let tokenPath = APIToken.path(inDataDirectory: data.directory.path)
        guard let token = try? String(contentsOfFile: tokenPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) else {
            throw CLIError("cannot read the token in \(tokenPath)")
        }
        let url = "\(base)/?token=\(token)"
        guard !printURL, let opener = ["xdg-open", "open"].lazy.compactMap(Self.executable).first else {
            if !printURL { FileHandle.standardError.write(Data("no browser opener (xdg-open) here; open this URL:\n".utf8)) }
            return print(url)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: opener)
        process.arguments = [url]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { throw CLIError("cannot start \(opener): \(error.localizedDescription); run 'potluck dashboard --print-url'") }
        print("opened \(base)/ in the browser")
    }

    /// `name`'s path on `$PATH`, if it is there.
    static func executable(_ name: String) -> String? {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
            .map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
