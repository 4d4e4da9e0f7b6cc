// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Foundation
import Testing
@testable import Sandbox

/// Finding the node's own cgroups (spec 0019 §2.3) from `/proc/self/cgroup` and `mountinfo`.
@Suite struct TaskCgroupTests {
    @Test func theNodesGroupsAreFoundInAContainer() {
        let cgroups = "12:pids:/docker/abc\n4:cpu,cpuacct:/docker/abc\n3:memory:/docker/abc\n1:name=systemd:/docker/abc\n0::/docker/abc\n"
        let mounts = """
            30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw
            35 30 0:31 /docker/abc /sys/fs/cgroup/memory rw,nosuid shared:14 - cgroup cgroup rw,memory
            36 30 0:32 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
            37 30 0:33 /docker /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
            38 30 0:34 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
            """
        #expect(TaskCgroup.locate(cgroups: cgroups, mounts: mounts) == [
            .memory: "/sys/fs/cgroup/memory", .cpu: "/sys/fs/cgroup/cpu,cpuacct/docker/abc", .pids: "/sys/fs/cgroup/pids/abc",
        ])
    }

    @Test func aGroupOutsideTheMountOrOnlyCgroupTwoIsNotUsed() {
        let mounts = "35 30 0:31 /other /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n38 30 0:34 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw"
        #expect(TaskCgroup.locate(cgroups: "3:memory:/docker/abc\n0::/x\n", mounts: mounts).isEmpty)
    }

    @Test func theSandboxJoinsBeforeAnythingRuns() throws {
        let bases = TaskCgroup.bases()
        try #require(!bases.isEmpty, "this machine offers the node no cgroup it may write")
        let group = try #require(TaskCgroup(name: "potluck-test-\(UInt32.random(in: 0...UInt32.max))",
                                            limits: TaskCgroup.Limits(memoryBytes: 64 << 20, cores: 1, processes: 16), bases: bases))
        defer { group.remove() }
        #expect(group.tasksFiles.count == Set(group.directories.values).count && group.tasksFiles.allSatisfy { $0.hasSuffix("/tasks") })
        if let memory = group.directories[.memory] {
            #expect(TaskCgroup.read(memory + "/memory.limit_in_bytes")?.hasPrefix("67108864") == true)
        }
        // The program the spawned child executes after the join, and a child it forks, are in
        // the group in every hierarchy.
        let (text, status) = try ChildSpawnTests.shell("cat /proc/self/cgroup; (cat /proc/self/cgroup)", joining: group.tasksFiles)
        #expect(status == 0)
        let name = (group.directories.values.first! as NSString).lastPathComponent
        for controller in group.directories.keys {
            let lines = text.split(separator: "\n").filter { $0.split(separator: ":")[1].split(separator: ",").contains(Substring(controller.rawValue)) }
            #expect(lines.count == 2 && lines.allSatisfy { $0.hasSuffix("/" + name) }, "\(controller): \(text)")
        }
    }
}
