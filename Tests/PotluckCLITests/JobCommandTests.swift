import ControlAPI
import ExampleJobs
import Foundation
import Testing
import WAT

/// Lending and borrowing between real node processes on loopback (issue 6): `potluck run` finds
/// the offer through the DHT, the job runs in the lender's sandbox over the encrypted job
/// channel, the output comes back and both sides store the receipt they both signed.
extension CLIProcessTests {
    @Suite("potluck run, jobs and status")
    struct JobCommandTests {
        struct Pair {
            let root: URL
            let lender: NodeProcess
            let borrower: NodeProcess
            let lenderID: String
            let borrowerID: String
        }

        func startPair(offer: [String] = []) throws -> Pair {
            let root = try temporaryDirectory()
            let lender = try NodeProcess.start(in: root, name: "lender")
            let borrower = try NodeProcess.start(in: root, name: "borrower", bootstrap: [lender])
            #expect(try eventually { try NodeCommandTests.tableSize(lender) >= 1 })
            let set = try lender.cli(["offer", "set", "--cores", "2", "--memory", "512MiB"] + offer)
            #expect(set.status == 0, "\(set.stderr)")
            let id = { (node: NodeProcess) in try node.cli(["id"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
            return Pair(root: root, lender: lender, borrower: borrower, lenderID: try id(lender), borrowerID: try id(borrower))
        }

        func write(_ bytes: [UInt8], to root: URL, name: String) throws -> String {
            let path = root.appendingPathComponent(name).path
            #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
            return path
        }

        /// `potluck run` on `node`: its options, then `--`, then the guest's arguments.
        func run(_ node: NodeProcess, _ options: [String], guest: [String]) throws -> PotluckProcess.Result {
            try PotluckProcess.run(["run"] + options + ["--data-dir", node.dataDirectory, "--"] + guest)
        }

        @Test func aJobRunsOnTheLenderAndBothSignTheReceipt() throws {
            let pair = try startPair()
            defer { try? FileManager.default.removeItem(at: pair.root) }
            let job = try write(ExampleJobs.primes, to: pair.root, name: "primes.wasm")
            let run = try run(pair.borrower, [job, "--timeout", "30s"], guest: ["100000"])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.contains("9592"), "\(run.stdout)")
            #expect(run.stderr.contains("ran on \(pair.lenderID)"))

            // One receipt, complete, stored by both sides, naming the lender as provider.
            // (The lender stores it as the countersignature arrives, just after the borrower sent it.)
            #expect(try eventually(timeout: 5) { try pair.lender.cli(["receipts", "list", "--json"]).stdout.split(separator: "\n").count == 1 })
            let lenderReceipts = try pair.lender.cli(["receipts", "list", "--json"]).stdout.split(separator: "\n")
            let borrowerReceipts = try pair.borrower.cli(["receipts", "list", "--json"]).stdout.split(separator: "\n")
            #expect(lenderReceipts.count == 1 && borrowerReceipts.count == 1)
            let receipt = try NodeCommandTests.json(String(try #require(borrowerReceipts.first)))
            #expect(receipt["provider"] as? String == pair.lenderID)
            #expect(receipt["consumer"] as? String == pair.borrowerID)
            #expect(try NodeCommandTests.json(String(try #require(lenderReceipts.first)))["id"] as? String == receipt["id"] as? String)

            // The lender's status shows what ran and for whom; the borrower's jobs list it too.
            let status = try NodeCommandTests.json(try pair.lender.cli(["status", "--json"]).stdout)
            let lent = try #require(status["lent"] as? [[String: Any]])
            #expect(lent.count == 1 && lent.first?["peer"] as? String == pair.borrowerID && lent.first?["exit_code"] as? Int == 0)
            #expect((status["given_core_seconds"] as? Double ?? 0) > 0)
            let jobs = try pair.borrower.cli(["jobs", "--json"]).stdout.split(separator: "\n")
            #expect(jobs.count == 1)
            #expect(try NodeCommandTests.json(String(try #require(jobs.first)))["peer"] as? String == pair.lenderID)
            // Trust moved: the borrower now trusts the lender who gave it work.
            let trust = try NodeCommandTests.json(try pair.borrower.cli(["trust", pair.lenderID, "--json"]).stdout)
            #expect((trust["score"] as? Double ?? 0) > 0)
            #expect(pair.borrower.stop() == 0 && pair.lender.stop() == 0)
        }

        /// Issue 17: a guest's exit status is the run's, with the outcome in one line and no
        /// `Error: ExitCode(…)`; a file that is not WebAssembly is refused before any work, and
        /// no receipt is signed for it.
        @Test func theGuestsExitStatusIsTheRunsAndAFileThatIsNotWasmCostsNothing() throws {
            let pair = try startPair()
            defer { try? FileManager.default.removeItem(at: pair.root) }
            let exits = try write(try wat2wasm("""
                (module
                  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
                  (memory (export "memory") 1)
                  (func (export "_start") (call $exit (i32.const 42))))
                """), to: pair.root, name: "exits.wasm")
            let exited = try run(pair.borrower, [exits, "--timeout", "30s"], guest: [])
            #expect(exited.status == 42, "\(exited.stderr)")
            #expect(!exited.stderr.contains("Error:"), "\(exited.stderr)")
            #expect(exited.stderr.contains("exited 42"), "\(exited.stderr)")

            let notWasm = try write(Array("#!/bin/sh\necho hello\n".utf8), to: pair.root, name: "script.wasm")
            let refused = try run(pair.borrower, [notWasm, "--timeout", "30s"], guest: [])
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("Error: ") && refused.stderr.contains("WebAssembly"), "\(refused.stderr)")
            // One receipt only: the job that ran; none for the file that was not a job.
            #expect(try eventually(timeout: 5) { try pair.lender.cli(["receipts", "list", "--json"]).stdout.split(separator: "\n").count == 1 })
            #expect(try pair.borrower.cli(["receipts", "list", "--json"]).stdout.split(separator: "\n").count == 1)
        }

        @Test func theLendersPolicyRefusesWithAReasonTheBorrowerSees() throws {
            let pair = try startPair()
            defer { try? FileManager.default.removeItem(at: pair.root) }
            let job = try write(ExampleJobs.primes, to: pair.root, name: "primes.wasm")

            // Larger than the offer: asked by name, the lender itself refuses.
            let large = try run(pair.borrower, [job, "--lender", pair.lenderID, "--cores", "4"], guest: ["100"])
            #expect(large.status != 0)
            #expect(large.stderr.contains("asks for 4 core(s); this lender lends at most 2"), "\(large.stderr)")

            // Denied.
            #expect(try pair.lender.cli(["offer", "set", "--deny", pair.borrowerID]).status == 0)
            let denied = try run(pair.borrower, [job, "--lender", pair.lenderID], guest: ["100"])
            #expect(denied.status != 0)
            #expect(denied.stderr.contains("does not lend to \(pair.borrowerID)"), "\(denied.stderr)")

            // Outside the lender's time window (one that ended a minute ago and starts in two hours).
            let minute = Int(Date().timeIntervalSince1970 / 60) % 1440
            let clock = { (m: Int) in String(format: "%02d:%02d", (m + 1440) % 1440 / 60, (m + 1440) % 60) }
            let window = clock(minute + 120) + "-" + clock(minute - 1)
            #expect(try pair.lender.cli(["offer", "set", "--clear", "deny", "--window", window]).status == 0)
            let outside = try run(pair.borrower, [job, "--lender", pair.lenderID], guest: ["100"])
            #expect(outside.status != 0)
            #expect(outside.stderr.contains("lends only during \(window) UTC"), "\(outside.stderr)")
            #expect(try pair.lender.cli(["status", "--json"]).stdout.contains("\"lent\":[]"))
            #expect(pair.borrower.stop() == 0 && pair.lender.stop() == 0)
        }

        /// `spec/0017` §2.1: a job over the 64 KiB a lender takes before admission is asked for,
        /// then sent; one over the lender's receive budget is refused before any of it is sent.
        @Test func aLargeJobIsAskedForFirstAndOneOverTheReceiveBudgetIsRefused() throws {
            let pair = try startPair()
            defer { try? FileManager.default.removeItem(at: pair.root) }
            let job = try write(ExampleJobs.primes, to: pair.root, name: "primes.wasm")
            let big = try write([UInt8](repeating: 0x61, count: 300_000), to: pair.root, name: "big.bin")
            let run = try run(pair.borrower, [job, "--lender", pair.lenderID, "--input", big], guest: ["1000"])
            #expect(run.status == 0, "\(run.stderr)\nthe lender's log:\n\(pair.lender.stderr)")

            let config = pair.lender.dataDirectory + "/config.toml"
            let text = try String(contentsOfFile: config, encoding: .utf8)
            // Edited by hand, as a lender would (`offer set` writes TOMLKit's literal strings).
            #expect(text.contains("receive_budget = '128MiB'"))
            try text.replacingOccurrences(of: "receive_budget = '128MiB'", with: "receive_budget = \"1MiB\"")
                .write(toFile: config, atomically: true, encoding: .utf8)
            let huge = try write([UInt8](repeating: 0x62, count: 2 << 20), to: pair.root, name: "huge.bin")
            let refused = try self.run(pair.borrower, [job, "--lender", pair.lenderID, "--input", huge], guest: ["1000"])
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("more than this lender receives at once (1048576 bytes)"), "\(refused.stderr)")
            // The lender's status counts both connections and no refusal or eviction.
            let status = try pair.lender.cli(["dht", "status"]).stdout
            #expect(status.contains("job_channel: established=2 evicted=0 failed_handshakes=0"), "\(status)")
            #expect(pair.borrower.stop() == 0 && pair.lender.stop() == 0)
        }

        @Test func aHostileGuestIsContainedAndTheLenderKeepsAnsweringTheDHT() throws {
            let pair = try startPair()
            defer { try? FileManager.default.removeItem(at: pair.root) }
            let spin = try spinningGuest()
            let job = try write(spin, to: pair.root, name: "spin.wasm")
            let lenderUDP = pair.lender.endpoint
            let directory = pair.borrower.dataDirectory
            let run = Thread.detachNewThreadResult {
                try? PotluckProcess.run(["run", job, "--timeout", "4s", "--cpu", "100s", "--json", "--data-dir", directory])
            }
            // While the guest spins, the lender's node still answers DHT queries.
            usleep(1_500_000)
            let ping = try pair.borrower.cli(["dht", "ping", lenderUDP])
            #expect(ping.status == 0, "\(ping.stderr)")
            let result = try #require(run.wait(timeout: 30) ?? nil)
            #expect(result.status != 0)
            let output = try NodeCommandTests.json(result.stdout)
            let replica = try #require((output["replicas"] as? [[String: Any]])?.first)
            #expect((replica["outcome"] as? String ?? "").contains("deadline") || (replica["outcome"] as? String ?? "").contains("wall"),
                    "\(replica)")
            #expect(try pair.borrower.cli(["dht", "ping", lenderUDP]).status == 0)
            #expect(pair.borrower.stop() == 0 && pair.lender.stop() == 0)
        }

        @Test func withReplicasTheJobRunsOnTwoLendersAndTheirResultsAgree() throws {
            let pair = try startPair()
            defer { try? FileManager.default.removeItem(at: pair.root) }
            let job = try write(ExampleJobs.primes, to: pair.root, name: "primes.wasm")
            // One lender for two replicas: the output is kept, but the run is not a success.
            let alone = try run(pair.borrower, [job, "--replicas", "2"], guest: ["50000"])
            #expect(alone.status == 1 && alone.stdout == "5133\n", "\(alone.stderr)")
            #expect(alone.stderr.contains("Error: only 1 of 2 replicas ran, so the result was not checked"), "\(alone.stderr)")

            let second = try NodeProcess.start(in: pair.root, name: "lender2", bootstrap: [pair.lender])
            #expect(try second.cli(["offer", "set", "--cores", "1", "--memory", "512MiB"]).status == 0)
            #expect(try eventually {
                (try NodeCommandTests.json(try pair.borrower.cli(["offers", "--json"]).stdout)["offers"] as? [Any])?.count == 2
            })
            let run = try run(pair.borrower, [job, "--replicas", "2"], guest: ["50000"])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout == "5133\n")
            #expect(run.stderr.contains("2 replicas agree"), "\(run.stderr)")
            // One receipt from the lone replica, two from the pair.
            #expect(try pair.borrower.cli(["receipts", "list", "--json"]).stdout.split(separator: "\n").count == 3)
            #expect(second.stop() == 0 && pair.borrower.stop() == 0 && pair.lender.stop() == 0)
        }

        /// Replicas whose results all differ (a guest printing random bytes): no majority, so
        /// no receipt is countersigned — each lender hears `outvoted` — and the run exits 3
        /// (spec 0019 §6.2). Two lenders for two replicas: the tie wants a third, none is left.
        @Test func replicasWithNoMajorityCountersignNothing() throws {
            let pair = try startPair()
            defer { try? FileManager.default.removeItem(at: pair.root) }
            let second = try NodeProcess.start(in: pair.root, name: "lender2", bootstrap: [pair.lender])
            #expect(try second.cli(["offer", "set", "--cores", "1", "--memory", "512MiB"]).status == 0)
            #expect(try eventually {
                (try NodeCommandTests.json(try pair.borrower.cli(["offers", "--json"]).stdout)["offers"] as? [Any])?.count == 2
            })
            let job = try write(try randomGuest(), to: pair.root, name: "random.wasm")
            let run = try run(pair.borrower, [job, "--replicas", "2"], guest: [])
            #expect(run.status == 3, "\(run.stderr)")
            #expect(run.stderr.contains("replicas DISAGREE: 2 different results from 2 lenders and none has a majority; no receipt was countersigned"),
                    "\(run.stderr)")
            #expect(run.stderr.components(separatedBy: "no receipt (refused (outvoted): none of the 2 replicas' results had a majority)").count == 3,
                    "\(run.stderr)")
            #expect(try pair.borrower.cli(["receipts", "list", "--json"]).stdout.isEmpty)
            for lender in [pair.lender, second] {
                #expect(try eventually { lender.stderr.contains("refused the receipt: none of the 2 replicas' results had a majority") }, "\(lender.stderr)")
            }
            #expect(second.stop() == 0 && pair.borrower.stop() == 0 && pair.lender.stop() == 0)
        }

        @Test func aBorrowerThatDisappearsMidJobLeavesNoGuestRunning() throws {
            let pair = try startPair()
            defer { try? FileManager.default.removeItem(at: pair.root) }
            let spin = try spinningGuest()
            let job = try write(spin, to: pair.root, name: "spin.wasm")
            let borrower = Process()
            borrower.executableURL = PotluckProcess.productsDirectory.appendingPathComponent("potluck")
            borrower.arguments = ["run", job, "--timeout", "60s", "--cpu", "600s", "--data-dir", pair.borrower.dataDirectory]
            borrower.standardOutput = FileHandle.nullDevice
            borrower.standardError = FileHandle.nullDevice
            try borrower.run()
            defer { if borrower.isRunning { kill(borrower.processIdentifier, SIGKILL) } }
            let running = { () throws -> Int in
                (try NodeCommandTests.json(try pair.lender.cli(["status", "--json"]).stdout)["running"] as? [Any])?.count ?? 0
            }
            #expect(try eventually(timeout: 20) { try running() == 1 }, "the job never started")
            let guests = { sandboxChildren(of: pair.lender.process.processIdentifier) }
            #expect(guests() == 1)
            kill(borrower.processIdentifier, SIGKILL)
            borrower.waitUntilExit()
            // The lender notices the dropped channel, kills the guest and records why.
            #expect(try eventually(timeout: 10) { try running() == 0 && guests() == 0 })
            let lent = try #require(try NodeCommandTests.json(try pair.lender.cli(["status", "--json"]).stdout)["lent"] as? [[String: Any]])
            #expect((lent.first?["outcome"] as? String ?? "").contains("abandoned: the borrower disconnected"), "\(lent)")
            #expect(try pair.lender.cli(["dht", "status"]).status == 0)
            #expect(pair.borrower.stop() == 0 && pair.lender.stop() == 0)
        }

        /// `spec/0017` §3.2 on real processes: a lender lending one core runs one job; a second
        /// waits in line (its borrower is told its place) and starts as soon as the first
        /// borrower leaves, without waiting for the first job's own limits.
        @Test func aSecondJobWaitsInLineAndStartsWhenTheSlotFrees() async throws {
            let pair = try startPair()
            defer { try? FileManager.default.removeItem(at: pair.root) }
            #expect(try pair.lender.cli(["offer", "set", "--cores", "1"]).status == 0)
            let spin = try write(try spinningGuest(), to: pair.root, name: "spin.wasm")
            let primes = try write(ExampleJobs.primes, to: pair.root, name: "primes.wasm")
            let first = try StreamingProcess(["run", spin, "--lender", pair.lenderID, "--timeout", "120s", "--cpu", "600s",
                                              "--data-dir", pair.borrower.dataDirectory])
            defer { first.kill() }
            let status = { () throws -> [String: Any] in try NodeCommandTests.json(try pair.lender.cli(["status", "--json"]).stdout) }
            #expect(try eventually(timeout: 30) { (try status()["running"] as? [Any])?.count == 1 }, "the first job never started")
            let started = try #require(try await ControlClient(dataDirectory: pair.lender.dataDirectory).call(.runningJobs).running.first?.started)
            #expect(abs(started - Date().timeIntervalSince1970) < 60, "started at \(started)")
            let second = try StreamingProcess(["run", primes, "--lender", pair.lenderID, "--data-dir", pair.borrower.dataDirectory,
                                               "--", "100"])
            defer { second.kill() }
            #expect(second.waitForStderr(containing: "waiting in line, position 1", timeout: 60), "\(second.stderr)")
            first.kill()
            #expect(second.waitForStderr(containing: "] running", timeout: 60), "\(second.stderr)")
            let result = second.wait()
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("25"), "\(result.stdout)")
            #expect(result.stderr.contains("running"), "\(result.stderr)")
            #expect(pair.borrower.stop() == 0 && pair.lender.stop() == 0)
        }

        @Test func aLenderThatDiesMidJobFailsTheBorrowersRunWithAReason() throws {
            let pair = try startPair()
            defer { try? FileManager.default.removeItem(at: pair.root) }
            let job = try write(try spinningGuest(), to: pair.root, name: "spin.wasm")
            let directory = pair.borrower.dataDirectory
            let run = Thread.detachNewThreadResult {
                try? PotluckProcess.run(["run", job, "--timeout", "60s", "--cpu", "600s", "--data-dir", directory])
            }
            #expect(try eventually(timeout: 20) {
                (try NodeCommandTests.json(try pair.lender.cli(["status", "--json"]).stdout)["running"] as? [Any])?.count == 1
            })
            pair.lender.stop(signal: SIGKILL)
            let result = try #require(run.wait(timeout: 30) ?? nil)
            #expect(result.status != 0)
            #expect(result.stderr.contains("the job channel failed"), "\(result.stderr)")
            let jobs = try pair.borrower.cli(["jobs", "--json"]).stdout.split(separator: "\n")
            #expect(jobs.count == 1, "the borrower records the failed job")
            #expect(pair.borrower.stop() == 0)
        }
    }
}

/// A guest that prints 8 random bytes (WASI `random_get`): no two runs agree.
func randomGuest() throws -> [UInt8] {
    try wat2wasm("""
        (module
          (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (func (export "_start")
            (drop (call $random (i32.const 16) (i32.const 8)))
            (i32.store (i32.const 0) (i32.const 16))
            (i32.store (i32.const 4) (i32.const 8))
            (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
        """)
}

/// A guest that spins forever: only its deadline or its fuel stops it.
func spinningGuest() throws -> [UInt8] {
    try wat2wasm("""
        (module (memory (export "memory") 1)
          (func (export "_start") (loop $forever (br $forever))))
        """)
}

/// How many sandbox child processes (`potluck __sandbox-child`) `parent` has, from /proc.
func sandboxChildren(of parent: pid_t) -> Int {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.filter { entry in
        guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
        guard fields.count > 1, Int32(fields[1]) == parent else { return false }
        let command = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
        return command.contains("__sandbox-child")
    }.count
}

extension Thread {
    /// Runs `body` on a new thread; `wait` returns its result, or `nil` after `timeout` seconds.
    final class Outcome<T>: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        private var value: T?
        func set(_ result: T) {
            value = result
            done.signal()
        }
        func wait(timeout: TimeInterval) -> T? {
            done.wait(timeout: .now() + timeout) == .success ? value : nil
        }
    }

    static func detachNewThreadResult<T>(_ body: @escaping @Sendable () -> T) -> Outcome<T> {
        let outcome = Outcome<T>()
        Thread.detachNewThread { outcome.set(body()) }
        return outcome
    }
}
