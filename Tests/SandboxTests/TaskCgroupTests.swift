// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Foundation
import Testing
@testable import Sandbox

/// Finding the node's cgroups and making a task's group there (spec 0019 §2.3), on cgroup v1
/// and v2. Serialized: the v2 tests change the unified hierarchy's root for a moment.
@Suite(.serialized) struct TaskCgroupTests {
    @Test func theNodesGroupsAreFoundInAContainer() {
        let cgroups = "12:pids:/docker/abc\n4:cpu,cpuacct:/docker/abc\n3:memory:/docker/abc\n1:name=systemd:/docker/abc\n0::/docker/abc\n"
        let mounts = """
            30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw
            35 30 0:31 /docker/abc /sys/fs/cgroup/memory rw,nosuid shared:14 - cgroup cgroup rw,memory
            36 30 0:32 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
            37 30 0:33 /docker /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
            38 30 0:34 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
            """
        #expect(CgroupHierarchy.locate(cgroups: cgroups, mounts: mounts) == [
            CgroupHierarchy(directory: "/sys/fs/cgroup/memory", unified: false, controllers: [.memory]),
            CgroupHierarchy(directory: "/sys/fs/cgroup/cpu,cpuacct/docker/abc", unified: false, controllers: [.cpu]),
            CgroupHierarchy(directory: "/sys/fs/cgroup/pids/abc", unified: false, controllers: [.pids]),
            CgroupHierarchy(directory: "/sys/fs/cgroup/unified/docker/abc", unified: true, controllers: []),
        ])
    }

    /// Debian 12's and Ubuntu's default: one unified hierarchy, the node in its systemd unit.
    @Test func aCgroupTwoHostGivesTheUnitsGroup() {
        let unit = "/user.slice/user-1000.slice/user@1000.service/app.slice/potluck.service"
        let mounts = "35 30 0:31 /other /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n38 30 0:34 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate"
        #expect(CgroupHierarchy.locate(cgroups: "0::\(unit)\n", mounts: mounts) == [
            CgroupHierarchy(directory: "/sys/fs/cgroup" + unit, unified: true, controllers: []),
        ])
        // A group outside the v1 mount's root is not this process's.
        #expect(CgroupHierarchy.locate(cgroups: "3:memory:/docker/abc\n", mounts: mounts).isEmpty)
    }

    @Test func theLimitsAreWrittenInEachVersionsFiles() {
        let limits = TaskCgroup.Limits(memoryBytes: 512 << 20, cores: 2, processes: 256)
        func files(_ unified: Bool) -> [String] {
            TaskCgroup.Controller.allCases.flatMap { TaskCgroup.settings(limits, controller: $0, unified: unified) }.map { "\($0.file)=\($0.value)" }
        }
        #expect(files(false) == ["memory.limit_in_bytes=536870912", "memory.memsw.limit_in_bytes=536870912",
                                 "cpu.cfs_period_us=100000", "cpu.cfs_quota_us=200000", "pids.max=256"])
        #expect(files(true) == ["memory.max=536870912", "memory.swap.max=0", "cpu.max=200000 100000", "pids.max=256"])
        #expect(TaskCgroup.settings(TaskCgroup.Limits(memoryBytes: 1, cores: nil, processes: 1), controller: .cpu, unified: true).isEmpty)
    }

    @Test func theSandboxJoinsBeforeAnythingRuns() throws {
        let hierarchies = CgroupHierarchy.node.hierarchies.filter { !$0.unified }
        try #require(!hierarchies.isEmpty, "this machine offers the node no cgroup-v1 group it may write")
        let group = try #require(TaskCgroup(name: "potluck-test-\(UInt32.random(in: 0...UInt32.max))",
                                            limits: TaskCgroup.Limits(memoryBytes: 64 << 20, cores: 1, processes: 16), hierarchies: hierarchies))
        defer { group.remove() }
        #expect(group.joinFiles.count == group.directories.count && group.joinFiles.allSatisfy { $0.hasSuffix("/tasks") })
        if let memory = group.directory(of: .memory) {
            #expect(TaskCgroup.read(memory + "/memory.limit_in_bytes")?.hasPrefix("67108864") == true)
        }
        // The program the spawned child executes after the join, and a child it forks, are in
        // the group in every hierarchy.
        let (text, status) = try ChildSpawnTests.shell("cat /proc/self/cgroup; (cat /proc/self/cgroup)", joining: group.joinFiles)
        #expect(status == 0)
        let name = (group.directories[0].directory as NSString).lastPathComponent
        for controller in group.directories.flatMap(\.controllers) {
            let lines = text.split(separator: "\n").filter { $0.split(separator: ":")[1].split(separator: ",").contains(Substring(controller.rawValue)) }
            #expect(lines.count == 2 && lines.allSatisfy { $0.hasSuffix("/" + name) }, "\(controller): \(text)")
        }
    }

    /// This process's unified hierarchy when it may write it (here: the hybrid layout's root).
    static func unifiedRoot() throws -> String {
        let unified = CgroupHierarchy.locate(cgroups: TaskCgroup.read("/proc/self/cgroup") ?? "",
                                             mounts: TaskCgroup.read("/proc/self/mountinfo") ?? "").first(where: \.unified)
        let directory = try #require(unified?.directory, "this machine has no cgroup-v2 hierarchy")
        try #require(access(directory, W_OK) == 0, "this process may not write its cgroup-v2 group \(directory)")
        return directory
    }

    /// cgroup v2: the task joins through `cgroup.procs`, and removing the group kills what the
    /// task left running (`cgroup.kill`), even a process that left its process group.
    @Test func aUnifiedGroupGathersAndKillsTheWholeTree() throws {
        let base = try Self.unifiedRoot()
        let name = "potluck-test-\(UInt32.random(in: 0...UInt32.max))"
        let group = try #require(TaskCgroup(name: name, limits: TaskCgroup.Limits(memoryBytes: 64 << 20, cores: 1, processes: 16),
                                            hierarchies: [CgroupHierarchy(directory: base, unified: true, controllers: [])]))
        var removed = false
        defer { if !removed { group.remove() } }
        #expect(group.joinFiles == [base + "/" + name + "/cgroup.procs"])
        let (text, status) = try ChildSpawnTests.shell("grep '^0::' /proc/self/cgroup; setsid sleep 600 </dev/null >/dev/null 2>&1 &", joining: group.joinFiles)
        #expect(status == 0)
        #expect(text.split(separator: "\n").contains { $0.hasPrefix("0::") && $0.hasSuffix("/" + name) }, "\(text)")
        let left = (TaskCgroup.read(base + "/" + name + "/cgroup.procs") ?? "").split(separator: "\n").compactMap { pid_t($0) }
        #expect(left.count == 1, "the escaped sleep is still in the group")
        group.remove()
        removed = true
        #expect(access(base + "/" + name, F_OK) != 0, "the group is gone")
        for pid in left {
            let state = TaskCgroup.read("/proc/\(pid)/stat")?.split(separator: " ").dropFirst(2).first
            #expect(state == nil || state == "Z", "\(pid) was killed")
        }
    }

    /// cgroup v2 stops a group through `cgroup.freeze`, with no controller to enable (spec 0019
    /// §2.4): the whole tree stops, a child the task forked too, and goes on when thawed. Then
    /// removing the group kills it.
    @Test func aUnifiedGroupFreezesAndThawsTheWholeTree() throws {
        let base = try Self.unifiedRoot()
        let name = "potluck-test-\(UInt32.random(in: 0...UInt32.max))"
        let group = try #require(TaskCgroup(name: name, limits: TaskCgroup.Limits(memoryBytes: 64 << 20, cores: 1, processes: 16),
                                            hierarchies: [CgroupHierarchy(directory: base, unified: true, controllers: [])]))
        defer { group.remove() }
        let counter = NSTemporaryDirectory() + name
        defer { unlink(counter) }
        // The shell's child appends a line every 10 ms until killed.
        let shell = try ChildProcess(executable: "/bin/sh", arguments: ["-c", "(while :; do echo x >> \(counter); sleep 0.01; done) & wait"],
                                     temporaryDirectory: NSTemporaryDirectory(), newProcessGroup: true, joining: group.joinFiles)
        defer {
            kill(shell.pid, SIGKILL)
            _ = shell.reap()
        }
        func lines() -> Int { (TaskCgroup.read(counter) ?? "").split(separator: "\n").count }
        func frozen() -> Bool { (TaskCgroup.read(base + "/" + name + "/cgroup.events") ?? "").split(separator: "\n").contains("frozen 1") }
        func waitFor(_ condition: () -> Bool) -> Bool {
            let deadline = ContinuousClock.now + .seconds(10)
            while !condition() {
                guard ContinuousClock.now < deadline else { return false }
                usleep(5_000)
            }
            return true
        }
        try #require(waitFor { lines() >= 3 }, "the task never ran")
        #expect(group.freeze(true))
        try #require(waitFor(frozen), "the kernel never reported the group frozen")
        let stoppedAt = lines()
        usleep(300_000)  // the owner's use: the count must not move meanwhile
        #expect(lines() == stoppedAt, "the forked child ran while frozen")
        #expect(group.freeze(false))
        #expect(waitFor { !frozen() && lines() > stoppedAt + 2 }, "the tree went on once thawed")
    }

    /// cgroup v2's rule that only a group without processes hands controllers to its children:
    /// the delegated group's process moves into `potluck-node`, then the controller is enabled.
    /// hugetlb stands in for memory, cpu and pids, which this hybrid host keeps in cgroup v1.
    @Test func delegationMovesTheNodeIntoALeafFirst() throws {
        let root = try Self.unifiedRoot()
        try #require(CgroupHierarchy.controllers(in: root).contains("hugetlb"), "the cgroup-v2 hierarchy here offers no controller to enable")
        let rootControl = root + "/cgroup.subtree_control"
        let wasEnabled = (TaskCgroup.read(rootControl) ?? "").contains("hugetlb")
        if !wasEnabled { try #require(TaskCgroup.write("+hugetlb", to: rootControl), "cannot enable hugetlb in \(root)") }
        let parent = root + "/potluck-test-\(UInt32.random(in: 0...UInt32.max))"
        try #require(mkdir(parent, 0o755) == 0)
        let sleeper = try ChildProcess(executable: "/bin/sleep", arguments: ["600"], temporaryDirectory: NSTemporaryDirectory(),
                                       newProcessGroup: true, joining: [parent + "/cgroup.procs"])
        defer {
            kill(sleeper.pid, SIGKILL)
            _ = sleeper.reap()
            rmdir(parent + "/" + CgroupHierarchy.nodeLeaf)
            rmdir(parent)
            if !wasEnabled { _ = TaskCgroup.write("-hugetlb", to: rootControl) }
        }
        let enabled = CgroupHierarchy.delegate(parent, wanted: ["hugetlb"], moving: sleeper.pid)
        #expect((try? enabled.get()) == ["hugetlb"])
        #expect(TaskCgroup.read(parent + "/" + CgroupHierarchy.nodeLeaf + "/cgroup.procs")?.contains(String(sleeper.pid)) == true)
        #expect(TaskCgroup.read(parent + "/cgroup.subtree_control")?.contains("hugetlb") == true)
        // Enabled already: nothing moves again.
        #expect((try? CgroupHierarchy.delegate(parent, wanted: ["hugetlb"], moving: -1).get()) == ["hugetlb"])
    }
}
