// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
#if canImport(Glibc)
import Glibc
#endif

/// A cgroup directory the node may make task groups in (spec 0019 §2.3), and the controllers
/// a task group made there can use.
///
/// cgroup v1 has one hierarchy per controller (or per few): the node's own group in each,
/// where the node may write. cgroup v2 has one hierarchy for all; there the kernel lets only a
/// group without processes hand controllers to its children, so the node delegated a group
/// (systemd's `Delegate=yes`) moves itself into a leaf (`potluck-node`) before it enables the
/// controllers in its own group and makes each task's group beside that leaf.
struct CgroupHierarchy: Equatable, Sendable {
    var directory: String
    /// cgroup v2: join through `cgroup.procs`, kill through `cgroup.kill`, limits in `memory.max`,
    /// `cpu.max`, `pids.max`.
    var unified: Bool
    var controllers: [TaskCgroup.Controller]

    /// The leaf a delegated node moves itself into on cgroup v2.
    static let nodeLeaf = "potluck-node"

    /// The hierarchies this node makes its tasks' groups in, found (and on cgroup v2 prepared)
    /// once, at the first native task; with the reason when there is none.
    static let node: (hierarchies: [CgroupHierarchy], problem: String?) = survey()

    /// Finds the node's hierarchies, keeps those it may write with a controller to use, and
    /// prepares the unified one (``delegate(_:wanted:)``).
    static func survey(cgroups: String? = TaskCgroup.read("/proc/self/cgroup"),
                       mounts: String? = TaskCgroup.read("/proc/self/mountinfo")) -> ([CgroupHierarchy], String?) {
        var usable: [CgroupHierarchy] = []
        var problem: String?
        for hierarchy in locate(cgroups: cgroups ?? "", mounts: mounts ?? "") {
            guard access(hierarchy.directory, W_OK) == 0 else {
                if hierarchy.unified {
                    problem = "the node may not write its cgroup \(hierarchy.directory): run it as the contrib unit does (Delegate=yes), or under `systemd-run --user -p Delegate=yes`"
                }
                continue
            }
            if hierarchy.unified {
                let wanted = TaskCgroup.Controller.allCases.map(\.rawValue).filter { name in
                    !usable.contains { $0.controllers.map(\.rawValue).contains(name) }
                }
                let offered = controllers(in: hierarchy.directory).filter(wanted.contains)
                guard !offered.isEmpty else { continue }
                switch delegate(hierarchy.directory, wanted: offered) {
                case .success(let enabled):
                    let controllers = enabled.compactMap(TaskCgroup.Controller.init(rawValue:))
                    if !controllers.isEmpty { usable.append(CgroupHierarchy(directory: hierarchy.directory, unified: true, controllers: controllers)) }
                case .failure(let failure):
                    problem = failure.reason
                }
            } else {
                usable.append(hierarchy)
            }
        }
        return (usable, usable.isEmpty ? problem : nil)
    }

    /// Why a unified group could not be prepared.
    struct Failure: Error {
        var reason: String
    }

    /// Enables `wanted` (controller names) for the children of the unified group `directory`,
    /// first moving the process `moving` (`0`: this one) into `directory/potluck-node` if the
    /// kernel refuses because the group holds processes; the names now enabled.
    static func delegate(_ directory: String, wanted: [String], moving: pid_t = 0) -> Result<[String], Failure> {
        let control = directory + "/cgroup.subtree_control"
        func enabled() -> [String] {
            (TaskCgroup.read(control) ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        }
        let missing = wanted.filter { !enabled().contains($0) }
        guard !missing.isEmpty else { return .success(wanted) }
        let request = missing.map { "+" + $0 }.joined(separator: " ")
        if !TaskCgroup.write(request, to: control) {
            guard errno == EBUSY else { return .failure(Failure(reason: "cannot enable \(request) in \(control): \(String(cString: strerror(errno)))")) }
            let leaf = directory + "/" + nodeLeaf
            guard mkdir(leaf, 0o755) == 0 || errno == EEXIST, TaskCgroup.write(String(moving), to: leaf + "/cgroup.procs") else {
                return .failure(Failure(reason: "cannot move the node into \(leaf): \(String(cString: strerror(errno)))"))
            }
            guard TaskCgroup.write(request, to: control) else {
                return .failure(Failure(reason: "cannot enable \(request) in \(control) (\(String(cString: strerror(errno)))): another process shares the node's cgroup"))
            }
        }
        return .success(wanted.filter(enabled().contains))
    }

    /// The controllers a unified group offers its children's groups.
    static func controllers(in directory: String) -> [String] {
        (TaskCgroup.read(directory + "/cgroup.controllers") ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
    }

    /// Where this process's groups lie, from `/proc/self/cgroup` and `/proc/self/mountinfo`:
    /// each cgroup-v1 mount whose options name a controller, joined with the path given for
    /// it (less the mount's root), with the controllers it holds; then the cgroup-v2 mount with
    /// the `0::` path, its controllers not yet known (empty).
    static func locate(cgroups: String, mounts: String) -> [CgroupHierarchy] {
        var paths: [String: String] = [:]
        var unifiedPath: String?
        for line in cgroups.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            if parts[0] == "0" && parts[1].isEmpty { unifiedPath = String(parts[2]) }
            for name in parts[1].split(separator: ",") { paths[String(name)] = String(parts[2]) }
        }
        var located: [CgroupHierarchy] = []
        for line in mounts.split(separator: "\n") {
            // ID PARENT MAJOR:MINOR ROOT MOUNTPOINT OPTIONS [OPTIONAL…] - TYPE SOURCE SUPER-OPTIONS
            let fields = line.split(separator: " ")
            guard let dash = fields.firstIndex(of: "-"), dash > 4, fields.count > dash + 3 else { continue }
            let root = String(fields[3]), mountPoint = String(fields[4])
            func directory(_ path: String) -> String? {
                guard path == root || path.hasPrefix(root == "/" ? "/" : root + "/") else { return nil }
                let relative = root == "/" ? path : String(path.dropFirst(root.count))
                return relative == "/" || relative.isEmpty ? mountPoint : mountPoint + relative
            }
            if fields[dash + 1] == "cgroup2" {
                if let path = unifiedPath, let directory = directory(path) {
                    located.append(CgroupHierarchy(directory: directory, unified: true, controllers: []))
                }
                continue
            }
            guard fields[dash + 1] == "cgroup" else { continue }
            var controllers: [TaskCgroup.Controller] = []
            var found: String?
            for option in fields[dash + 3].split(separator: ",") {
                guard let controller = TaskCgroup.Controller(rawValue: String(option)), let path = paths[controller.rawValue],
                      let directory = directory(path) else { continue }
                controllers.append(controller)
                found = directory
            }
            if let directory = found { located.append(CgroupHierarchy(directory: directory, unified: false, controllers: controllers)) }
        }
        // cgroup v1 first: a hybrid host's unified hierarchy holds only what v1 does not.
        return located.filter { !$0.unified } + located.filter(\.unified)
    }
}
