import ControlAPI
import Foundation
import Node
#if canImport(Glibc)
import Glibc
#endif

extension NodeCommand {
    /// `--detach`: starts this same command again without `--detach`, in a session of its own
    /// with its output in `DIR/node.log`, and returns once that node answers on its control
    /// socket (spec 0008 §1.2) — or fails with the node's own last words if it stops first.
    func startDetached() async throws {
        let directory = data.directory
        if let pid = DataDirectoryLock.holder(ofDataDirectory: directory.path) {
            throw CLIError("another node (pid \(pid)) is already running on \(directory.path); stop it with 'potluck stop --data-dir \(directory.path)'")
        }
        guard FileManager.default.fileExists(atPath: directory.identityPath) else {
            throw CLIError("no identity in \(directory.path); run 'potluck init --data-dir \(directory.path)' first")
        }
        let logPath = directory.path + "/node.log"
        let log = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard log >= 0 else { throw CLIError("cannot open \(logPath): \(String(cString: strerror(errno)))") }
        defer { close(log) }
        let logOffset = Int(lseek(log, 0, SEEK_END))  // the lines before are earlier runs'
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        // The same arguments without --detach, and the data directory made absolute.
        var arguments = CommandLine.arguments.dropFirst().filter { $0 != "--detach" }
        if data.dataDir != nil, let index = arguments.firstIndex(where: { $0 == "--data-dir" || $0.hasPrefix("--data-dir=") }) {
            let end = arguments[index] == "--data-dir" ? index + 2 : index + 1
            arguments.replaceSubrange(index..<min(end, arguments.endIndex), with: ["--data-dir", directory.path])
        } else {
            arguments += ["--data-dir", directory.path]
        }
        closeOnExecEverythingInherited()
        let pid = try spawnInNewSession(executable, [executable] + arguments, output: log)
        _ = try await Readiness.wait(for: directory, peers: 0, within: .seconds(60), starting: (pid, logPath, logOffset))
        let listening = (try? await callNode(data, .nodeInfo))?.listen.joined(separator: ", ") ?? "?"
        print("node started (pid \(pid)), listening on \(listening); log: \(logPath); stop it with 'potluck stop --data-dir \(directory.path)'")
    }

    /// Marks every descriptor above stderr close-on-exec: the node must not keep what this
    /// process inherited (a script's `$(…)` pipe would wait for the node to end; a parent's
    /// process monitor would never see this process finish).
    private func closeOnExecEverythingInherited() {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for case let fd? in entries.map({ Int32($0) }) where fd > 2 {
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    private func spawnInNewSession(_ executable: String, _ arguments: [String], output: Int32) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, output, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own session: closing the terminal (SIGHUP) does not reach it. glibc's
        // POSIX_SPAWN_SETSID (0x80, since 2.26) is hidden from Swift behind _GNU_SOURCE.
        posix_spawnattr_setflags(&attributes, 0x80)
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard status == 0 else { throw CLIError("cannot start \(executable): \(String(cString: strerror(status)))") }
        return pid
    }
}
