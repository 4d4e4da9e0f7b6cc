import Foundation
import Testing

extension CLIProcessTests.NativeJobCommandTests {
    /// Detached jobs (spec 0019 §7): the borrower's node runs a job file on its own; killed
    /// mid-job and restarted, it resumes with the tasks that were not done, and finishes. A job
    /// whose tool no one lends waits, and starts when an offer appears; a job can be cancelled.
    @Test func aDetachedJobSurvivesItsBorrowersRestartAndWaitsForOffers() throws {
        let swarm = try startSwarm(lenders: 2, tools: ["sh"])
        defer { try? FileManager.default.removeItem(at: swarm.root) }
        let job = swarm.root.appendingPathComponent("detached")
        let path = try writeUppercaseJob(tasks: 8, in: job)
        let submitted = try swarm.borrower.cli(["run", "--detach", path])
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let id = submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.count == 8, "the job's id alone on stdout: \(submitted.stdout)")
        #expect(try swarm.borrower.cli(["jobs"]).stdout.contains(id))

        // Once some tasks are recorded done, the borrower's node is killed, then started again.
        // (Waiting for their outputs instead raced the record: an output is saved a few
        // milliseconds before its task is recorded done, and a kill in between runs it again.)
        let out = job.appendingPathComponent("out").path
        let recordedDone = { (log: String) -> [String] in
            log.split(separator: "\n").compactMap { line in
                guard let end = line.range(of: ") done on "), let start = line[..<end.lowerBound].lastIndex(of: "(") else { return nil }
                return String(line[line.index(after: start)..<end.lowerBound])
            }
        }
        var done: [String] = []
        #expect(try eventually(timeout: 30) {
            done = recordedDone(try swarm.borrower.cli(["logs", id]).stdout)
            return done.count >= 2
        })
        #expect(swarm.borrower.stop(signal: SIGKILL) != 0)
        let written = Dictionary(uniqueKeysWithValues: done.map { ($0, Self.modified(out + "/" + $0)) })
        let borrower = try NodeProcess(dataDirectory: swarm.borrower.dataDirectory, arguments: ["--bootstrap", swarm.lenders[0].endpoint])
        let shown = try borrower.cli(["jobs", "show", id, "--wait", "--timeout", "90s", "--json"])
        #expect(shown.status == 0, "\(shown.stdout) \(shown.stderr)")
        let record = try CLIProcessTests.NodeCommandTests.json(shown.stdout)
        #expect(record["phase"] as? String == "done")
        #expect((record["tasks"] as? [[String: Any]])?.allSatisfy { $0["state"] as? String == "done" && $0["lender"] != nil } == true)
        for index in 0..<8 {
            #expect((try? String(contentsOfFile: out + "/t\(index).txt", encoding: .utf8)) == "LINE \(index)\n")
        }
        let staged = ((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []).filter { $0.hasPrefix(".potluck-incoming-") }
        #expect(staged.isEmpty, "no task's staging is left once the job is done: \(staged)")
        // Tasks recorded done before the restart were not run again.
        for (name, time) in written { #expect(Self.modified(out + "/" + name) == time, "\(name) was written again") }
        let log = try borrower.cli(["logs", id]).stdout
        #expect(log.contains("resumed after the node restarted") && log.contains("8 of 8 task(s) done"), "\(log)")
        let taskLog = try borrower.cli(["logs", id, "--task", "3"]).stdout.split(separator: "\n")
        #expect(!taskLog.isEmpty && taskLog.allSatisfy { $0.contains("task 3 (t2.txt)") }, "\(taskLog)")
        let copies = swarm.root.appendingPathComponent("copies").path
        #expect(try borrower.cli(["fetch", id, "--to", copies]).status == 0)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: copies)) ?? []).count == 8)

        // A tool no one lends yet: the job waits, and runs once a lender offers it.
        let waiting = try writeJob("""
            tool = "md5sum"
            command = "md5sum {input}"
            [tasks]
            each = "in/t1.txt"
            [outputs]
            dir = "sums"
            [after]
            command = "sh -c 'echo ran > listed.txt'"
            """, in: job)
        let second = try borrower.cli(["run", "--detach", waiting]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try eventually(timeout: 30) {
            (try CLIProcessTests.NodeCommandTests.json(try borrower.cli(["jobs", "show", second, "--json"]).stdout))["phase"] as? String == "waiting"
        })
        #expect(try swarm.lenders[1].cli(["offer", "set", "--cores", "1", "--memory", "1GiB", "--tool", "sh", "--tool", "md5sum"]).status == 0)
        let sums = try borrower.cli(["jobs", "show", second, "--wait", "--timeout", "60s"])
        #expect(sums.status == 0 && sums.stdout.contains("done"), "\(sums.stdout) \(sums.stderr)")
        // The [after] command ran on the borrower's node, in the job's directory, once done.
        #expect(FileManager.default.fileExists(atPath: job.appendingPathComponent("listed.txt").path))
        let afterLog = try borrower.cli(["logs", second]).stdout
        #expect(afterLog.contains("the [after] command sh -c echo ran > listed.txt succeeded"), "\(afterLog)")

        // A job cancelled mid-way ends cancelled; an unknown id or a missing file is one line.
        let slow = try writeJob("tool = \"sh\"\ncommand = \"sh -c 'sleep 20; cat {input} > {output}'\"\ntimeout = \"60s\"\n[tasks]\neach = \"in/*.txt\"\n[outputs]\nfile = \"slow/{stem}.txt\"", in: job)
        let third = try borrower.cli(["run", "--detach", slow]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try eventually(timeout: 30) { try borrower.cli(["jobs", "show", third]).stdout.contains(": running on") })
        #expect(try borrower.cli(["cancel", third]).stdout.contains("cancelled"))
        #expect(try CLIProcessTests.NodeCommandTests.json(try borrower.cli(["jobs", "show", third, "--json"]).stdout)["phase"] as? String == "cancelled")
        let unknown = try borrower.cli(["jobs", "show", "ffffffff"])
        #expect(unknown.status != 0 && unknown.stderr.contains("no job ffffffff"), "\(unknown.stderr)")
        let missing = try borrower.cli(["run", "--detach", job.appendingPathComponent("nope.toml").path])
        #expect(missing.status != 0 && missing.stderr.split(separator: "\n").count == 1, "\(missing.stderr)")
        for lender in swarm.lenders { #expect(lender.stop() == 0) }
        #expect(borrower.stop() == 0)
    }

    static func modified(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }
}
