import ControlAPI
import ArgumentParser
import Foundation
import Node

/// Detached jobs (`potluck run --detach JOB.toml`, `spec/0019-native-jobs.md` §7): the node
/// runs them; these commands ask it how they stand, print their logs, gather their outputs and
/// cancel them.
extension BatchRecord {
    /// One line: id, phase, progress, tool, file.
    var summary: String {
        let counts = counts
        let failed = counts[.failed, default: 0] > 0 ? ", \(counts[.failed, default: 0]) failed" : ""
        return "\(id)  \(phase.rawValue)  \(counts[.done, default: 0])/\(tasks.count) done, \(counts[.running, default: 0]) running\(failed)  \(tool)  \(jobFile)"
    }
}

/// `potluck jobs show ID`: a detached job's tasks, where each ran, its state and times.
struct JobsShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a detached job's tasks: state, lender, times.")
    @OptionGroup var data: DataDirectoryOptions
    @Argument(help: "The job's id (or its first characters), from 'potluck run --detach' or 'potluck jobs --detached'.") var id: String
    @Flag(help: "Wait until the job is over (done, failed or cancelled).") var wait = false
    @Option(help: "How long --wait waits, e.g. 10m.") var timeout = "1h"
    @Flag(help: "Print the job as one JSON object.") var json = false

    func run() async throws {
        guard let limit = Quantities.duration(timeout) else { throw CLIError("--timeout '\(timeout)' is not a duration; write e.g. 90s or 10m") }
        var record = try await callNode(data, .batch(id))
        let deadline = ContinuousClock.now + limit
        while wait, !record.phase.isOver {
            guard ContinuousClock.now < deadline else { throw CLIError("job \(record.id) is still \(record.phase.rawValue) after \(timeout)") }
            try await Task.sleep(for: .milliseconds(250))
            record = try await callNode(data, .batch(record.id))
        }
        if json { return try printJSON(record) }
        print(record.summary)
        for (index, task) in record.tasks.enumerated() {
            let lender = task.lender.map { " on \($0.prefix(16))…" } ?? ""
            let time = task.started.flatMap { start in task.ended.map { String(format: " %.1f s", Double($0 - start) / 1000) } } ?? ""
            let reason = task.reason.map { ": \($0)" } ?? ""
            print("  task \(index + 1) \(task.label): \(task.state.rawValue)\(lender)\(time)\(reason)")
        }
        if wait, record.phase != .done { throw ExitCode(1) }
    }
}

/// `potluck logs ID [--task N]`: what happened to a detached job, oldest first.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print a detached job's log.")
    @OptionGroup var data: DataDirectoryOptions
    @Argument(help: "The job's id (or its first characters).") var id: String
    @Option(help: "Only the lines about task N (1 is the first).") var task: Int?

    func run() async throws {
        let record = try await callNode(data, .batch(id))
        if let task, !(1...max(1, record.tasks.count)).contains(task) {
            throw CLIError("--task \(task) is not a task of job \(record.id): give 1 to \(record.tasks.count)")
        }
        for line in record.log where task.map({ line.contains(" task \($0) (") }) ?? true { print(line) }
    }
}

/// `potluck cancel ID`: stops a detached job; outputs already saved stay.
struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel a detached job.")
    @OptionGroup var data: DataDirectoryOptions
    @Argument(help: "The job's id (or its first characters).") var id: String

    func run() async throws {
        let record = try await callNode(data, .cancelBatch(id))
        print(record.summary)
    }
}

/// `potluck fetch ID [--to DIR]`: the outputs of a detached job's finished tasks. They are saved
/// beside the job file as tasks finish; `--to` copies them elsewhere.
struct FetchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fetch", abstract: "List or copy a detached job's outputs.")
    @OptionGroup var data: DataDirectoryOptions
    @Argument(help: "The job's id (or its first characters).") var id: String
    @Option(help: ArgumentHelp("Copy the outputs into this directory.", valueName: "DIR")) var to: String?

    func run() async throws {
        let record = try await callNode(data, .batch(id))
        let planned = try nodeErrors { try JobFile.load(record.jobFile).tasks() }
        guard planned.count == record.tasks.count else {
            throw CLIError("\(record.jobFile) now makes \(planned.count) task(s), not the job's \(record.tasks.count); its outputs cannot be matched")
        }
        var paths: [String] = []
        for (task, plan) in zip(record.tasks, planned) where task.state == .done {
            switch plan.destination {
            case .files(let files): paths += files.values.sorted()
            case .directory(let directory):
                let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
                paths += names.sorted().map { directory + "/" + $0 }
            }
        }
        paths = Array(Set(paths)).sorted().filter { FileManager.default.fileExists(atPath: $0) }
        guard let to else {
            for path in paths { print(path) }
            return standardError("potluck: \(paths.count) output(s) of \(record.counts[.done, default: 0]) done task(s) of job \(record.id)")
        }
        try FileManager.default.createDirectory(atPath: to, withIntermediateDirectories: true)
        for path in paths {
            let target = to + "/" + (path as NSString).lastPathComponent
            try? FileManager.default.removeItem(atPath: target)
            do { try FileManager.default.copyItem(atPath: path, toPath: target) } catch { throw CLIError("cannot copy \(path) to \(to): \(error.localizedDescription)") }
        }
        standardError("potluck: copied \(paths.count) output(s) of job \(record.id) into \(to)")
    }
}
