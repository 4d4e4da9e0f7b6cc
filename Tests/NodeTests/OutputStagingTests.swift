import Foundation
import Sandbox
import Testing
@testable import Node

/// Where a task's outputs are received before they are saved (spec 0020 §5): a directory named
/// after the task, so a cut transfer resumes; what killed runs left is swept after a day.
@Suite struct OutputStagingTests {
    func planned(_ argument: String, in directory: String) -> PlannedTask {
        PlannedTask(index: 0, label: argument, task: NativeTask(tool: "sh", arguments: ["-c", argument]), inputFiles: [:],
                    destination: .directory(directory))
    }

    @Test func aTaskIsStagedUnderItsOwnNameAndOldLeftoversAreSwept() throws {
        let directory = NSTemporaryDirectory() + "/potluck-staging-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let mine = planned("true", in: directory), other = planned("false", in: directory)
        #expect(TaskBatch.staging(of: mine) == TaskBatch.staging(of: planned("true", in: directory)))
        #expect(TaskBatch.staging(of: mine) != TaskBatch.staging(of: other))
        #expect(TaskBatch.staging(of: mine).hasPrefix(directory + "/.potluck-incoming-"))
        let old = Date(timeIntervalSinceNow: -2 * 86_400)
        let stale = directory + "/.potluck-incoming-gone", fresh = directory + "/.potluck-incoming-running"
        for path in [TaskBatch.staging(of: mine), stale, fresh, directory + "/kept.jpg"] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        for path in [TaskBatch.staging(of: mine), stale, directory + "/kept.jpg"] {
            try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: path)
        }
        TaskBatch.sweepStaging(of: [mine])
        let left = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(left == [".potluck-incoming-running", (TaskBatch.staging(of: mine) as NSString).lastPathComponent, "kept.jpg"].sorted(),
                "only the day-old staging of another run goes")
        // A task done: its staging goes at once, a replica's too, nobody else's.
        try FileManager.default.createDirectory(atPath: TaskBatch.staging(of: mine) + "-0123456789ab", withIntermediateDirectories: true)
        TaskBatch.removeStaging(of: [mine])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == [".potluck-incoming-running", "kept.jpg"])
    }
}
