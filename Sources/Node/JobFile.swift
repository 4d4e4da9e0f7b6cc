import Foundation
import SafeTOML
import TOMLKit

/// A borrower's job file (`spec/0019-native-jobs.md` §5): one lent tool, a command template,
/// shared inputs, how the work splits into tasks, where outputs go, and an optional local step
/// once every task is done. Every mistake is found here, before anything is sent, and said in
/// one line that names the key.
public struct JobFile: Sendable, Hashable {
    /// How the work splits into tasks.
    public enum Split: Sendable, Hashable {
        /// One task per file matching a glob (relative to the job file): `{input}`, `{name}`, `{stem}`.
        case each(String)
        /// One task per `chunk` integers of `first...last`: `{frame}` (the chunk's first), `{first}`, `{last}`.
        case frames(ClosedRange<Int>, chunk: Int)
    }

    /// Where outputs go, relative to the job file's directory.
    public enum Outputs: Sendable, Hashable {
        /// `{output}`: the one file each task writes, saved at this path template.
        case file(String)
        /// `{outdir}`: every file each task writes there is saved in this directory.
        case directory(String)
    }

    /// The job file's directory: inputs are read and outputs written relative to it.
    public var directory: String
    public var tool: String
    /// The command split into words; the first is the tool.
    public var command: [String]
    public var cores: Int
    public var memoryBytes: Int64
    public var timeout: Duration
    /// Shared inputs by template name → path relative to `directory`.
    public var inputs: [String: String]
    public var split: Split
    public var outputs: Outputs
    /// A command run on the borrower's own machine, in `directory`, after every task is done.
    public var after: [String]?

    static let keys: Set<String> = ["tool", "command", "cores", "memory", "timeout", "inputs", "tasks", "outputs", "after"]

    /// Reads and checks `path`.
    public static func load(_ path: String) throws(NodeError) -> JobFile {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw NodeError("cannot read the job file \(path)") }
        let table: TOMLTable
        do { table = try SafeTOML.parse(text) } catch { throw NodeError("\(path) is not valid TOML: \(error)") }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().standardizedFileURL.path
        return try JobFile(table: table, directory: directory, name: path)
    }

    init(table: TOMLTable, directory: String, name: String) throws(NodeError) {
        func fail(_ message: String) -> NodeError { NodeError("\(name): \(message)") }
        if let unknown = table.keys.sorted().first(where: { !Self.keys.contains($0) }) {
            throw fail("unknown key '\(unknown)' (known: \(Self.keys.sorted().joined(separator: ", ")))")
        }
        self.directory = directory
        guard let tool = table["tool"]?.string else { throw fail("'tool' is missing: name the lent tool every task runs, e.g. tool = \"convert\"") }
        self.tool = tool
        guard let commandText = table["command"]?.string else { throw fail("'command' is missing: e.g. command = \"\(tool) {input} {output}\"") }
        guard let words = Self.words(commandText), !words.isEmpty else { throw fail("'command' has an unclosed quote") }
        guard words[0] == tool else { throw fail("'command' starts with '\(words[0])'; it must start with the tool, '\(tool)'") }
        command = words
        cores = table["cores"]?.int ?? 1
        guard (1...4096).contains(cores) else { throw fail("'cores' must be 1 to 4096") }
        let memoryText = table["memory"]?.string ?? "1GiB"
        guard let memory = Quantities.bytes(memoryText), memory > 0 else { throw fail("'memory' '\(memoryText)' is not a size: use e.g. 512MiB") }
        memoryBytes = memory
        let timeoutText = table["timeout"]?.string ?? "10m"
        guard let timeout = Quantities.duration(timeoutText), timeout > .zero else { throw fail("'timeout' '\(timeoutText)' is not a duration: use e.g. 90s or 10m") }
        self.timeout = timeout
        inputs = try Self.strings(table["inputs"], "inputs", fail)
        for (key, path) in inputs where !Self.isVariableName(key) || !Self.staysInside(path) {
            throw fail("inputs.\(key) = \"\(path)\": names are letters, digits and '_', paths stay inside the job's directory")
        }
        let tasks = try Self.strings(table["tasks"], "tasks", fail, integers: ["chunk"])
        switch (tasks["each"], tasks["frames"]) {
        case (let glob?, nil):
            guard Self.staysInside(glob), tasks.count == 1 else { throw fail("tasks.each must be the only key and a glob inside the job's directory") }
            split = .each(glob)
        case (nil, let range?):
            let ends = range.split(separator: "-").map { Int($0) }
            guard ends.count == 2, let first = ends[0], let last = ends[1], 0 <= first, first <= last, last - first < 100_000 else {
                throw fail("tasks.frames '\(range)' is not FIRST-LAST, e.g. \"1-240\"")
            }
            let chunk = Int(tasks["chunk"] ?? "1") ?? 0
            guard chunk >= 1, tasks.keys.allSatisfy({ ["frames", "chunk"].contains($0) }) else { throw fail("tasks.chunk must be a whole number from 1") }
            split = .frames(first...last, chunk: chunk)
        default: throw fail("[tasks] needs exactly one of each = \"GLOB\" or frames = \"FIRST-LAST\"")
        }
        let outputs = try Self.strings(table["outputs"], "outputs", fail)
        switch (outputs["file"], outputs["dir"]) {
        case (let file?, nil) where outputs.count == 1 && Self.staysInside(file): self.outputs = .file(file)
        case (nil, let dir?) where outputs.count == 1 && Self.staysInside(dir): self.outputs = .directory(dir)
        default: throw fail("[outputs] needs exactly one of file = \"PATH\" or dir = \"DIR\", inside the job's directory")
        }
        let after = try Self.strings(table["after"], "after", fail)
        if let text = after["command"] {
            guard after.count == 1, let words = Self.words(text), !words.isEmpty else { throw fail("after.command must be the only key, with closed quotes") }
            self.after = words
        } else if !after.isEmpty {
            throw fail("[after] takes only command = \"...\"")
        } else {
            self.after = nil
        }
        let known = variables
        for word in command {
            if let unknown = Self.placeholders(in: word).first(where: { !known.contains($0) }) {
                throw fail("'command' uses {\(unknown)}, which this job does not define (it has \(known.sorted().map { "{\($0)}" }.joined(separator: " ")))")
            }
        }
    }

    /// The template variables this job defines.
    public var variables: Set<String> {
        var names = Set(inputs.keys)
        switch split {
        case .each: names.formUnion(["input", "name", "stem"])
        case .frames: names.formUnion(["frame", "first", "last"])
        }
        switch outputs {
        case .file: names.insert("output")
        case .directory: names.insert("outdir")
        }
        return names
    }

    // MARK: - Reading helpers

    private static func strings(_ value: (any TOMLValueConvertible)?, _ key: String, _ fail: (String) -> NodeError,
                                integers: Set<String> = []) throws(NodeError) -> [String: String] {
        guard let value else { return [:] }
        guard let table = value.table else { throw fail("'\(key)' must be a table ([\(key)])") }
        var result: [String: String] = [:]
        for name in table.keys {
            if let text = table[name]?.string { result[name] = text } else if integers.contains(name), let number = table[name]?.int {
                result[name] = String(number)
            } else { throw fail("\(key).\(name) must be a string") }
        }
        return result
    }

    static func isVariableName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { $0 == UInt8(ascii: "_") || (0x30...0x39).contains($0) || (0x41...0x5a).contains($0) || (0x61...0x7a).contains($0) }
    }

    /// Whether a relative path stays inside the job's directory: not absolute, no `..`.
    static func staysInside(_ path: String) -> Bool {
        !path.isEmpty && !path.hasPrefix("/") && !path.split(separator: "/").contains("..")
    }

    /// The `{name}` placeholders of a word.
    static func placeholders(in word: String) -> [String] {
        var names: [String] = [], rest = Substring(word)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            names.append(String(rest[rest.index(after: open)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return names
    }

    /// Splits a command on whitespace; `'…'` and `"…"` quote. `nil` on an unclosed quote.
    static func words(_ text: String) -> [String]? {
        var words: [String] = [], current = "", quote: Character?, inWord = false
        for character in text {
            if let open = quote {
                if character == open { quote = nil } else { current.append(character) }
            } else if character == "'" || character == "\"" {
                quote = character
                inWord = true
            } else if character.isWhitespace {
                if inWord { words.append(current) }
                current = ""
                inWord = false
            } else {
                current.append(character)
                inWord = true
            }
        }
        guard quote == nil else { return nil }
        if inWord { words.append(current) }
        return words
    }
}
