import PotluckCrypto
import Foundation
import Sandbox
#if canImport(Glibc)
import Glibc
#endif

/// One task of a job file, ready to send: the native task, where its inputs are on this
/// machine, and where its outputs go (`spec/0019-native-jobs.md` §5.2).
public struct PlannedTask: Sendable, Hashable {
    public var index: Int
    /// For people: the input file's name, or `frame 7`, `frames 1-10`.
    public var label: String
    public var task: NativeTask
    /// Each input's name in the sandbox → its path on this machine.
    public var inputFiles: [String: String]
    /// Where outputs are saved: output name → path (`[outputs] file`), or every output into a
    /// directory (`[outputs] dir`).
    public var destination: Destination

    public enum Destination: Sendable, Hashable {
        case files([String: String])
        case directory(String)

        /// The directory outputs are saved in (a `file` template's own directory).
        public var directory: String {
            switch self {
            case .files(let paths): (paths.values.min().map { ($0 as NSString).deletingLastPathComponent }) ?? "."
            case .directory(let directory): directory
            }
        }

        /// The path an output called `name` is saved at, or `nil` when it is not expected or
        /// its name could climb out (the borrower never writes outside the job's directory).
        public func path(for name: String) -> String? {
            guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else { return nil }
            switch self {
            case .files(let paths): return paths[name]
            case .directory(let directory): return directory + "/" + name
            }
        }
    }
}

extension JobFile {
    /// The most bytes a task may return (stdout, stderr and files; inline on the job channel).
    public static let outputBytes = 48 << 20
    /// The most bytes a task may write under `/job` on the lender.
    public static let diskBytes: Int64 = 4 << 30

    /// Every task, in order; fails, naming the problem, when an input is missing or matches nothing.
    public func tasks() throws(NodeError) -> [PlannedTask] {
        var shared: [String: String] = [:], sharedFiles: [String: String] = [:]
        for (variable, relative) in inputs.sorted(by: { $0.key < $1.key }) {
            let path = directory + "/" + relative
            guard Self.isRegularFile(path) else { throw NodeError("inputs.\(variable): \(relative) is not a file beside the job file") }
            let name = (relative as NSString).lastPathComponent
            guard sharedFiles[name] == nil else { throw NodeError("inputs: two inputs are called \(name)") }
            sharedFiles[name] = path
            shared[variable] = NativeTask.inputPath(name)
        }
        let wall = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        let limits = JobLimits(coreSeconds: wall * Double(cores), memoryBytes: memoryBytes, wallSeconds: wall, outputBytes: Self.outputBytes)
        var planned: [PlannedTask] = []
        for (index, unit) in try units().enumerated() {
            var values = shared.merging(unit.values) { a, _ in a }
            var files = sharedFiles
            if let (name, path) = unit.input {
                guard files[name] == nil else { throw NodeError("tasks.each: \(name) has the name of a shared input") }
                files[name] = path
            }
            let destination: PlannedTask.Destination
            switch outputs {
            case .file(let template):
                let relative = Self.expand(template, values)
                guard Self.staysInside(relative) else { throw NodeError("outputs.file gives \(relative), outside the job's directory") }
                let name = (relative as NSString).lastPathComponent
                values["output"] = NativeTask.outputDirectory + "/" + name
                destination = .files([name: directory + "/" + relative])
            case .directory(let relative):
                values["outdir"] = NativeTask.outputDirectory
                destination = .directory(directory + "/" + relative)
            }
            var digests: [String: Bytes32] = [:]
            for (name, path) in files { digests[name] = try Self.digest(path) }
            let arguments = command.dropFirst().map { Self.expand($0, values) }
            planned.append(PlannedTask(index: index, label: unit.label,
                                       task: NativeTask(tool: tool, arguments: arguments, inputs: digests, limits: limits, diskBytes: Self.diskBytes),
                                       inputFiles: files, destination: destination))
        }
        return planned
    }

    /// One unit of work: its template values and, for `each`, its own input file.
    private struct Unit {
        var label: String
        var values: [String: String]
        var input: (name: String, path: String)?
    }

    private func units() throws(NodeError) -> [Unit] {
        switch split {
        case .each(let glob):
            let matches = Self.glob(glob, in: directory)
            guard !matches.isEmpty else { throw NodeError("tasks.each: '\(glob)' matches no file beside the job file") }
            return matches.map { path in
                let name = (path as NSString).lastPathComponent
                let stem = (name as NSString).deletingPathExtension
                return Unit(label: name, values: ["input": NativeTask.inputPath(name), "name": name, "stem": stem], input: (name, path))
            }
        case .frames(let range, let chunk):
            return stride(from: range.lowerBound, through: range.upperBound, by: chunk).map { first in
                let last = min(range.upperBound, first + chunk - 1)
                return Unit(label: first == last ? "frame \(first)" : "frames \(first)-\(last)",
                            values: ["frame": String(first), "first": String(first), "last": String(last)], input: nil)
            }
        }
    }

    static func expand(_ word: String, _ values: [String: String]) -> String {
        var result = word
        for (name, value) in values { result = result.replacingOccurrences(of: "{\(name)}", with: value) }
        return result
    }

    /// Regular files (not links) matching `pattern`, whose last component may hold `*`, `?`, `[…]`.
    static func glob(_ pattern: String, in directory: String) -> [String] {
        let parent = (pattern as NSString).deletingLastPathComponent
        let namePattern = (pattern as NSString).lastPathComponent
        let base = parent.isEmpty ? directory : directory + "/" + parent
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        return names.filter { fnmatch(namePattern, $0, FNM_PERIOD) == 0 }.sorted().map { base + "/" + $0 }.filter(isRegularFile)
    }

    static func isRegularFile(_ path: String) -> Bool { fileType(path) == .typeRegular }

    /// What `path` itself is (a link is not followed, as `lstat`), `nil` when nothing is there.
    static func fileType(_ path: String) -> FileAttributeType? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType
    }

    /// BLAKE2b-256 of an input, read 1 MiB at a time (a 4 GiB input is not held in memory).
    static func digest(_ path: String) throws(NodeError) -> Bytes32 {
        do { return try InputStore.hash(file: path) } catch { throw NodeError("cannot read \(path)") }
    }
}
