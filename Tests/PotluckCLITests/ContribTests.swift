import Foundation
import Node
import Testing

/// The systemd units in `contrib/` (issue 17), checked by systemd itself: `systemd-analyze
/// verify` loads each as systemd would and reports unknown keys, bad values and missing
/// programs. The install path is replaced by this build's executable, which must exist.
extension CLIProcessTests {
    @Suite("contrib: systemd units")
    struct ContribTests {
        @Test(arguments: [("potluck.service", "/usr/local/bin/potluck", false), ("potluck-user.service", "%h/.local/bin/potluck", true)])
        func theUnitVerifies(file: String, installedAt: String, user: Bool) throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let source = PotluckProcess.packageDirectory.appendingPathComponent("contrib/\(file)")
            let text = try String(contentsOf: source, encoding: .utf8)
            #expect(text.contains("Type=notify") && text.contains("ExecStart=\(installedAt) node"), "\(file)")
            let unit = root.appendingPathComponent(file)
            try text.replacingOccurrences(of: installedAt, with: PotluckProcess.executable.path).write(to: unit, atomically: true, encoding: .utf8)
            let runtime = root.appendingPathComponent("run")
            try FileManager.default.createDirectory(at: runtime, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            var environment = ProcessInfo.processInfo.environment
            environment["XDG_RUNTIME_DIR"] = runtime.path  // --user needs one; CI has no login session
            let verified = try PotluckProcess.run(executable: URL(fileURLWithPath: "/usr/bin/systemd-analyze"),
                                                  ["verify"] + (user ? ["--user"] : []) + [unit.path], environment: environment)
            #expect(verified.status == 0, "\(verified.stderr)")
            // An unknown key is only a warning to systemd-analyze: none may appear.
            #expect(verified.stderr.isEmpty, "\(verified.stderr)")
        }

        /// What `Type=notify` waits for: the node sends READY=1 once it answers and STOPPING=1
        /// when told to stop, on the datagram socket systemd names in NOTIFY_SOCKET.
        @Test func theNodeTellsSystemdWhenItIsReadyAndWhenItStops() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let dir = root.appendingPathComponent("node").path
            #expect(try PotluckProcess.run(["init", "--data-dir", dir]).status == 0)
            let path = root.appendingPathComponent("notify").path
            let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            try #require(bound == 0)
            var deadline = timeval(tv_sec: 60, tv_usec: 0)  // a bound on the wait, not a pause
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &deadline, socklen_t(MemoryLayout<timeval>.size))
            func next() -> String {
                var buffer = [UInt8](repeating: 0, count: 512)
                let count = recv(fd, &buffer, buffer.count, 0)
                return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : "nothing within 60 s"
            }

            let node = try NodeProcess(dataDirectory: dir, environment: ["NOTIFY_SOCKET": path])
            let ready = next()
            #expect(ready.hasPrefix("READY=1\nSTATUS=listening on \(node.endpoint)"), "\(ready)")
            // Ready means answering: the control socket is there.
            #expect(try node.cli(["dht", "status"]).status == 0)
            kill(node.process.processIdentifier, SIGTERM)
            #expect(next() == "STOPPING=1")
            #expect(node.stop() == 0)
        }

        /// README's completion command: every shell's script is generated, names the subcommands,
        /// and bash's script parses.
        @Test(arguments: ["bash", "zsh", "fish"]) func completionScriptsAreGenerated(shell: String) throws {
            let script = try PotluckProcess.run(["--generate-completion-script", shell])
            #expect(script.status == 0, "\(script.stderr)")
            for subcommand in ["node", "wait", "stop", "offer", "run", "trust"] {
                #expect(script.stdout.contains(subcommand), "\(shell) completion lacks \(subcommand)")
            }
            guard shell == "bash" else { return }
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let file = root.appendingPathComponent("potluck.bash")
            try script.stdout.write(to: file, atomically: true, encoding: .utf8)
            let parsed = try PotluckProcess.run(executable: URL(fileURLWithPath: "/bin/bash"), ["-n", file.path])
            #expect(parsed.status == 0, "\(parsed.stderr)")
        }
    }
}

extension CLIProcessTests.ContribTests {
    /// The contrib unit is what `potluck service install` writes, with the install path.
    @Test func theContribUnitIsTheGeneratedOne() throws {
        let file = PotluckProcess.packageDirectory.appendingPathComponent("contrib/potluck-user.service")
        #expect(try String(contentsOf: file, encoding: .utf8) == ServiceUnit.user(execStart: "%h/.local/bin/potluck node"))
    }

    /// `potluck service install --no-start` writes a unit systemd accepts, naming this executable
    /// and the data directory (quoted: it holds a space); `uninstall --no-stop` removes it.
    @Test func serviceInstallWritesAUnitThatVerifies() throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("my data").path
        #expect(try PotluckProcess.run(["init", "--data-dir", data]).status == 0)
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_CONFIG_HOME"] = root.appendingPathComponent("config").path
        let refused = try PotluckProcess.run(["service", "install", "--no-start", "--data-dir", root.appendingPathComponent("none").path],
                                             environment: environment)
        #expect(refused.status == 1 && refused.stderr.contains("run 'potluck init' first"), "\(refused.stderr)")
        let installed = try PotluckProcess.run(["service", "install", "--no-start", "--data-dir", data], environment: environment)
        #expect(installed.status == 0, "\(installed.stderr)")
        let unit = root.appendingPathComponent("config/systemd/user/potluck.service")
        let text = try String(contentsOf: unit, encoding: .utf8)
        #expect(text.contains("ExecStart=\(PotluckProcess.executable.path) node --data-dir \"\(data)\""), "\(text)")
        let runtime = root.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: runtime, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        environment["XDG_RUNTIME_DIR"] = runtime.path
        let verified = try PotluckProcess.run(executable: URL(fileURLWithPath: "/usr/bin/systemd-analyze"), ["verify", "--user", unit.path],
                                              environment: environment)
        #expect(verified.status == 0 && verified.stderr.isEmpty, "\(verified.stderr)")
        #expect(try PotluckProcess.run(["service", "uninstall", "--no-stop"], environment: environment).status == 0)
        #expect(!FileManager.default.fileExists(atPath: unit.path))
    }
}
