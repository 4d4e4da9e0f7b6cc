import Foundation
import Node
import Testing

/// Dependable start-up (issue 17): README's loopback script as printed, one node per data
/// directory, `--detach`, `wait` and `stop`, bootstrap by name with retries, POTLUCK_DATA_DIR.
extension CLIProcessTests {
    @Suite("starting and stopping nodes")
    struct StartupTests {
        /// README's loopback block, every line as printed but `swift build` (the tests already
        /// built it, and SwiftPM holds the build directory while they run). It runs in a
        /// directory whose `.build/debug` and `Sources` are this build's, with TMPDIR inside the
        /// test's own directory so that every node it starts is found and stopped afterwards.
        @Test func readmesLoopbackScriptRunsAsPrinted() throws {
            let readme = try String(contentsOf: PotluckProcess.packageDirectory.appendingPathComponent("README.md"), encoding: .utf8)
            let start = try #require(readme.range(of: "```sh\nswift build\nP=.build/debug/potluck"), "README's loopback block moved")
            let block = readme[start.upperBound...]
            let body = "P=.build/debug/potluck" + block[..<(try #require(block.range(of: "```")).lowerBound)]
            #expect(body.contains("--detach") && body.contains("$P wait") && body.contains("$P stop"), "README's script starts, waits, stops")

            let root = try temporaryDirectory()
            defer { Self.stopNodes(under: root); try? FileManager.default.removeItem(at: root) }
            let work = root.appendingPathComponent("work"), temporary = root.appendingPathComponent("tmp")
            try FileManager.default.createDirectory(at: work.appendingPathComponent(".build"), withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(at: work.appendingPathComponent(".build/debug"),
                                                       withDestinationURL: PotluckProcess.productsDirectory)
            try FileManager.default.createSymbolicLink(at: work.appendingPathComponent("Sources"),
                                                       withDestinationURL: PotluckProcess.packageDirectory.appendingPathComponent("Sources"))
            let script = root.appendingPathComponent("loopback.sh")
            try ("set -e\ncd '\(work.path)'\n" + body).write(to: script, atomically: true, encoding: .utf8)
            var environment = ProcessInfo.processInfo.environment
            environment["TMPDIR"] = temporary.path
            let result = try PotluckProcess.run(executable: URL(fileURLWithPath: "/usr/bin/timeout"),
                                                ["300", "bash", script.path], environment: environment)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("ready: 1 peer"))
            #expect(result.stdout.contains("2 cores, 4 GiB"), "dht get printed the value")
            #expect(result.stdout.contains("78498"), "the job's output: primes below 1,000,000")
            #expect(result.stderr.contains("receipt") && result.stderr.contains("signed by both"))
            #expect(result.stdout.components(separatedBy: "stopped the node").count == 3, "both nodes stopped: \(result.stdout)")
        }

        @Test func aSecondNodeOnTheSameDataDirectoryIsRefusedNamingTheFirst() throws {
            let root = try temporaryDirectory()
            defer { Self.stopNodes(under: root); try? FileManager.default.removeItem(at: root) }
            let dir = root.appendingPathComponent("a").path
            #expect(try PotluckProcess.run(["init", "--data-dir", dir]).status == 0)
            let started = try PotluckProcess.run(["node", "--data-dir", dir, "--listen", "127.0.0.1:0", "--no-default-bootstrap", "--detach"])
            #expect(started.status == 0, "\(started.stderr)")
            let pid = try #require(started.stdout.split(separator: "(pid ").dropFirst().first?.prefix { $0.isNumber })

            for extra in [["--detach"], []] {
                let second = try PotluckProcess.run(["node", "--data-dir", dir, "--listen", "127.0.0.1:0", "--no-default-bootstrap"] + extra)
                #expect(second.status == 1)
                #expect(second.stderr.contains("another node (pid \(pid)) is already running on \(dir)"), "\(second.stderr)")
                #expect(second.stderr.split(separator: "\n").count == 1, "one line: \(second.stderr)")
            }
            // The first node still owns its control socket.
            let status = try PotluckProcess.run(["dht", "status", "--data-dir", dir])
            #expect(status.status == 0, "\(status.stderr)")

            let stopped = try PotluckProcess.run(["stop", "--data-dir", dir])
            #expect(stopped.status == 0 && stopped.stdout.contains("stopped the node (pid \(pid))"), "\(stopped.stdout)\(stopped.stderr)")
            let again = try PotluckProcess.run(["stop", "--data-dir", dir])
            #expect(again.status == 0 && again.stdout.contains("no node is running"))
            // Free again: a node starts, even after the first was killed without warning.
            let restarted = try NodeProcess(dataDirectory: dir)
            restarted.stop(signal: SIGKILL)
            let afterKill = try PotluckProcess.run(["node", "--data-dir", dir, "--listen", "127.0.0.1:0", "--no-default-bootstrap", "--detach"])
            #expect(afterKill.status == 0, "a killed node's lock is gone with it: \(afterKill.stderr)")
        }

        /// `--bootstrap` by name, before anyone answers there: the node keeps trying with back-off
        /// and joins once the peer appears; a name that does not resolve is shown in status.
        @Test func bootstrapByNameIsRetriedUntilThePeerAppears() throws {
            let root = try temporaryDirectory()
            defer { Self.stopNodes(under: root); try? FileManager.default.removeItem(at: root) }
            for name in ["early", "late"] {
                #expect(try PotluckProcess.run(["init", "--data-dir", root.appendingPathComponent(name).path]).status == 0)
            }
            let port = try Self.freeUDPPort()
            let early = try NodeProcess(dataDirectory: root.appendingPathComponent("early").path,
                                        arguments: ["--bootstrap", "localhost:\(port)", "--bootstrap", "no-such-host.invalid:6891"])
            #expect(eventually(timeout: 30) { early.stderr.contains("bootstrap: no answer from") }, "\(early.stderr)")
            let before = try early.cli(["dht", "status"])
            #expect(before.stdout.contains("bootstrap: no-such-host.invalid:6891 (not joined: cannot resolve 'no-such-host.invalid'"),
                    "\(before.stdout)")
            #expect(before.stdout.contains("bootstrap: localhost:\(port) (not joined: no answer yet"), "\(before.stdout)")

            let late = try NodeProcess(dataDirectory: root.appendingPathComponent("late").path,
                                       arguments: ["--listen", "127.0.0.1:\(port)"], listenOverride: true)
            #expect(late.endpoint == "127.0.0.1:\(port)")
            let ready = try early.cli(["wait", "--peers", "1", "--timeout", "90s"])
            #expect(ready.status == 0, "\(ready.stderr)\n\(early.stderr)")
            // Logged within a tenth of a second of the table filling, which `wait` may see first.
            #expect(eventually(timeout: 30) { early.stderr.contains("joined the network through localhost:\(port), no-such-host.invalid:6891") },
                    "\(early.stderr)")
            let after = try early.cli(["dht", "status"])
            #expect(after.stdout.contains("bootstrap: localhost:\(port) (joined"), "\(after.stdout)")
            #expect(after.stdout.contains("bootstrap: no-such-host.invalid:6891 (not joined: cannot resolve"), "\(after.stdout)")
        }

        @Test func waitAndDataDirFromTheEnvironmentSayWhatIsWrongInOneLine() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let dir = root.appendingPathComponent("env").path
            var environment = ProcessInfo.processInfo.environment
            environment["POTLUCK_DATA_DIR"] = dir
            #expect(try PotluckProcess.run(["init"], environment: environment).status == 0)
            #expect(FileManager.default.fileExists(atPath: dir + "/identity"), "init used POTLUCK_DATA_DIR")
            let id = try PotluckProcess.run(["id"], environment: environment)
            #expect(id.status == 0 && id.stdout.hasPrefix("pl1"))
            // --data-dir wins over the environment.
            let other = try PotluckProcess.run(["id", "--data-dir", root.appendingPathComponent("none").path], environment: environment)
            #expect(other.status != 0)

            let waited = try PotluckProcess.run(["wait", "--peers", "0", "--timeout", "1s"], environment: environment)
            #expect(waited.status == 1)
            #expect(waited.stderr == "Error: not ready within 1 s: no node answered on \(dir)/control.sock; is 'potluck node' running with this --data-dir?\n")
            let bad = try PotluckProcess.run(["wait", "--timeout", "soon"], environment: environment)
            #expect(bad.status != 0 && bad.stderr.contains("--timeout 'soon' is not a duration"))
        }

        /// A detached node that cannot start says why, from its own log, and exits 1.
        @Test func aDetachedNodeThatCannotBindSaysWhy() throws {
            let root = try temporaryDirectory()
            defer { Self.stopNodes(under: root); try? FileManager.default.removeItem(at: root) }
            let (a, b) = (root.appendingPathComponent("a").path, root.appendingPathComponent("b").path)
            #expect(try PotluckProcess.run(["init", "--data-dir", a]).status == 0)
            #expect(try PotluckProcess.run(["init", "--data-dir", b]).status == 0)
            let first = try NodeProcess(dataDirectory: a)
            let taken = first.endpoint
            // An earlier run's error in the log is not this start's reason.
            try "Error: a stale line from an earlier run\n".write(toFile: b + "/node.log", atomically: true, encoding: .utf8)
            let second = try PotluckProcess.run(["node", "--data-dir", b, "--listen", taken, "--no-default-bootstrap", "--detach"])
            #expect(second.status == 1)
            #expect(second.stderr.hasPrefix("Error: the node stopped as it started: ") && second.stderr.contains("cannot listen on \(taken)")
                    && !second.stderr.contains("stale"),
                    "\(second.stderr)")
            #expect(second.stderr.contains("cannot listen on \(taken): Address already in use; is another node using that port?"),
                    "one plain sentence, no NIO internals: \(second.stderr)")
            #expect(DataDirectoryLock.holder(ofDataDirectory: b) == nil, "the failed node left no lock behind")
        }

        /// A usage mistake points at the help of the subcommand that was mistyped.
        @Test func usageErrorsPointAtTheSubcommandsOwnHelp() throws {
            let missing = try PotluckProcess.run(["dht", "get"])
            #expect(missing.status != 0)
            #expect(missing.stderr == "Error: Missing expected argument '<target>' (see 'potluck dht get --help')\n", "\(missing.stderr)")
            let unknown = try PotluckProcess.run(["wait", "--peer", "2"])
            #expect(unknown.stderr.hasSuffix("(see 'potluck wait --help')\n"), "\(unknown.stderr)")
            let root = try PotluckProcess.run(["lend"])
            #expect(root.stderr.hasSuffix("(see 'potluck --help')\n"), "\(root.stderr)")
        }

        /// Issue 17: the demo sometimes left its temporary directory behind. Interrupted with
        /// Ctrl-C while its nodes run, it removes the directory and exits 130.
        @Test func anInterruptedDemoLeavesNoTemporaryDirectory() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let demo = Process()
            demo.executableURL = PotluckProcess.executable
            demo.arguments = ["demo"]
            demo.environment = ProcessInfo.processInfo.environment.merging(["TMPDIR": root.path]) { $1 }
            demo.standardOutput = FileHandle.nullDevice
            demo.standardError = FileHandle.nullDevice
            try demo.run()
            defer { if demo.isRunning { kill(demo.processIdentifier, SIGKILL) } }
            let made = { (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? [] }
            // Its nodes are up once their control sockets exist under the demo's directory.
            #expect(eventually(timeout: 60) {
                made().contains { name in
                    (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(name).appendingPathComponent("node0").path))?
                        .contains("control.sock") ?? false
                }
            }, "the demo never started its nodes: \(made())")
            kill(demo.processIdentifier, SIGINT)
            #expect(eventually(timeout: 30) { !demo.isRunning })
            demo.waitUntilExit()
            #expect(demo.terminationStatus == 130)
            #expect(made().isEmpty, "left behind: \(made())")
        }

        /// `--log-format json`: every line the node logs is one JSON object a collector can read.
        @Test func jsonLogsAreOneObjectPerLine() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let dir = root.appendingPathComponent("node").path
            #expect(try PotluckProcess.run(["init", "--data-dir", dir]).status == 0)
            let node = try NodeProcess(dataDirectory: dir, arguments: ["--log-format", "json"])
            #expect(eventually(timeout: 30) { node.stderr.contains("DHT node") })
            #expect(node.stop() == 0)
            let lines = node.stderr.split(separator: "\n")
            #expect(lines.count >= 3, "\(node.stderr)")
            for line in lines {
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                #expect(object?["label"] as? String == "potluck.node" && object?["message"] is String && object?["time"] is String,
                        "\(line)")
                #expect(["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(object?["level"] as? String ?? ""))
            }
            let bad = try PotluckProcess.run(["node", "--data-dir", dir, "--log-format", "xml"])
            #expect(bad.status != 0 && bad.stderr.contains("'xml' is not a log format: use text or json"), "\(bad.stderr)")
        }

        /// A UDP port free at the time of asking (bound to port 0, then closed).
        static func freeUDPPort() throws -> UInt16 {
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
            }
            guard bound else { throw CLITestError("cannot bind a UDP socket on 127.0.0.1") }
            return UInt16(bigEndian: address.sin_port)
        }

        /// Stops every node whose data directory lies under `root` (tests clean up even when they fail).
        static func stopNodes(under root: URL) {
            guard let files = FileManager.default.enumerator(atPath: root.path) else { return }
            for case let file as String in files where file.hasSuffix("node.lock") {
                let dir = root.appendingPathComponent(file).deletingLastPathComponent().path
                _ = try? PotluckProcess.run(["stop", "--data-dir", dir, "--timeout", "20s"])
            }
        }
    }
}
