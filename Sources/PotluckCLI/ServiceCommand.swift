import ArgumentParser
import Foundation
import Node

/// `potluck service install|uninstall`: runs this user's node under systemd's user manager, so
/// it starts at login (or at boot, with lingering) and restarts if it fails.
struct ServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service", abstract: "Run the node as a systemd user service.",
        subcommands: [Install.self, Uninstall.self])

    /// `$XDG_CONFIG_HOME/systemd/user/potluck.service`.
    static var unitPath: String {
        let environment = ProcessInfo.processInfo.environment
        let config = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.config")
        return config + "/systemd/user/potluck.service"
    }

    struct Install: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the user unit for this potluck and data directory, enable it and start it.",
            discussion: "The unit is contrib/potluck-user.service with this executable and --data-dir filled in. 'loginctl enable-linger $USER' keeps lending while logged out.")
        @OptionGroup var data: DataDirectoryOptions
        @Flag(help: "Write the unit only; enable and start nothing.") var noStart = false

        func run() async throws {
            guard FileManager.default.fileExists(atPath: data.directory.identityPath) else {
                throw CLIError("\(data.directory.path) has no identity yet; run 'potluck init' first")
            }
            let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
            let path = ServiceCommand.unitPath
            do {
                try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try ServiceUnit.user(execStart: ServiceUnit.commandLine(executable: executable, dataDirectory: data.directory.path)).write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                throw CLIError("cannot write \(path): \(error.localizedDescription)")
            }
            print("wrote \(path)")
            if noStart { return print("start it with: systemctl --user daemon-reload && systemctl --user enable --now potluck") }
            try systemctl(["daemon-reload"])
            try systemctl(["enable", "--now", "potluck"])
            print("the node runs under systemd: 'systemctl --user status potluck', 'journalctl --user -u potluck'; "
                  + "'loginctl enable-linger \(NSUserName())' keeps it lending while you are logged out")
        }
    }

    struct Uninstall: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop and disable the user unit, and remove it.")
        @Flag(help: "Remove the unit only; stop nothing.") var noStop = false

        func run() async throws {
            let path = ServiceCommand.unitPath
            guard FileManager.default.fileExists(atPath: path) else { throw CLIError("no unit at \(path): nothing to uninstall") }
            if !noStop { try systemctl(["disable", "--now", "potluck"]) }
            do { try FileManager.default.removeItem(atPath: path) } catch { throw CLIError("cannot remove \(path): \(error.localizedDescription)") }
            if !noStop { try? systemctl(["daemon-reload"]) }
            print("removed \(path)")
        }
    }
}

/// Runs `systemctl --user ARGS`; its complaint becomes the command's one-line error.
private func systemctl(_ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["systemctl", "--user"] + arguments
    let errors = Pipe()
    process.standardError = errors
    do { try process.run() } catch { throw CLIError("cannot run systemctl: \(error.localizedDescription)") }
    let complaint = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        let reason = complaint.split(separator: "\n").first.map(String.init) ?? "exit \(process.terminationStatus)"
        throw CLIError("systemctl --user \(arguments.joined(separator: " ")) failed: \(reason); the unit is at \(ServiceCommand.unitPath)")
    }
}
