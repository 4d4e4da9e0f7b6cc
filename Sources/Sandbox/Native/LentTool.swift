// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Foundation
import Records

/// A program the lender chooses to lend (`potluck offer set --tool convert`): its name as
/// published, where it is on the lender's machine, and the version it reports (spec 0019 §1).
public struct LentTool: Sendable, Hashable, Codable {
    /// The published name, e.g. `convert`.
    public var name: String
    /// The program's resolved path (symbolic links followed), e.g. `/usr/bin/convert-im6.q16`.
    public var path: String
    /// The first line the program prints for `--version` (or `-version`), at most 100 characters.
    public var version: String

    public init(name: String, path: String, version: String) {
        self.name = name
        self.path = path
        self.version = version
    }

    /// Finds `spec` — a name looked up on `PATH`, or `name=/absolute/path` — and asks it for its
    /// version (unless `askVersion` is false: a task about to run needs only the path).
    /// Throws a sentence a lender can act on when it is not an executable file.
    public static func find(_ spec: String, searchPath: String? = ProcessInfo.processInfo.environment["PATH"],
                            askVersion: Bool = true) throws(SandboxError) -> LentTool {
        let name: String, explicit: String?
        if let equals = spec.firstIndex(of: "=") {
            name = String(spec[..<equals])
            explicit = String(spec[spec.index(after: equals)...])
        } else {
            name = spec
            explicit = nil
        }
        guard Offer.isToolName(name) else {
            throw SandboxError(.invalidJob, "'\(name)' is not a tool name (letters, digits, '.', '_', '+', '-'); write NAME or NAME=/path/to/program")
        }
        let candidates = explicit.map { [$0] }
            ?? (searchPath ?? "/usr/bin:/bin").split(separator: ":").map { "\($0)/\(name)" }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw SandboxError(.invalidJob, explicit == nil
                ? "no program called '\(name)' on PATH; install it, or lend it as \(name)=/path/to/program"
                : "\(explicit!) is not an executable file")
        }
        let resolved = URL(fileURLWithPath: found).resolvingSymlinksInPath().path
        guard resolved.hasPrefix("/") else {
            throw SandboxError(.invalidJob, "\(found) does not resolve to an absolute path")
        }
        return LentTool(name: name, path: resolved, version: askVersion ? version(of: resolved) : "")
    }

    /// The first non-empty line of `--version`, else of `-version`, else `unknown`.
    static func version(of path: String) -> String {
        for flag in ["--version", "-version"] {
            if let line = firstLine(of: path, flag), !line.isEmpty { return line }
        }
        return "unknown"
    }

    private static func firstLine(of path: String, _ flag: String) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = [flag]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let killer = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 20, execute: killer)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        killer.cancel()
        guard process.terminationStatus == 0 else { return nil }
        let text = String(decoding: data.prefix(4096), as: UTF8.self)
        guard let line = text.split(whereSeparator: \.isNewline).map({ $0.trimmingCharacters(in: .whitespaces) }).first(where: { !$0.isEmpty })
        else { return nil }
        return String(line.prefix(100))
    }
}
