// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Foundation

/// Finds the `potluck-sandbox` executable.
enum SandboxExecutable {
    static let name = "potluck-sandbox"

    /// Directories searched, in order: the directory of the running executable
    /// (`/proc/self/exe`; for `swift test` that is `.build/debug`, next to the `.xctest`), the
    /// directory of `CommandLine.arguments[0]`, then `PATH`.
    static func searchDirectories() -> [String] {
        var directories: [String] = []
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            directories.append((executable as NSString).deletingLastPathComponent)
        }
        if let first = CommandLine.arguments.first, first.contains("/") {
            let absolute = first.hasPrefix("/") ? first : FileManager.default.currentDirectoryPath + "/" + first
            directories.append(((absolute as NSString).resolvingSymlinksInPath as NSString).deletingLastPathComponent)
        }
        if let path = ProcessInfo.processInfo.environment["PATH"] {
            directories += path.split(separator: ":").map(String.init)
        }
        return directories
    }

    /// The first executable `potluck-sandbox` in `searchDirectories()`.
    static func locate() throws(SandboxError) -> String {
        let directories = searchDirectories()
        for directory in directories {
            let candidate = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw SandboxError(
            .hostFailure,
            "cannot find \(name); looked in \(directories.prefix(4).joined(separator: ", ")) and PATH — build it with 'swift build'")
    }
}
