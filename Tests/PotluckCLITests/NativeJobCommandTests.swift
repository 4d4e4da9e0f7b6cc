import Foundation
import Testing

/// Native tasks between real node processes on loopback (spec 0019): lenders lend a tool, a
/// borrower's job file fans its tasks out over them, outputs land beside the job file, each
/// task ends with a receipt both signed, and a lender killed mid-batch costs nothing but time.
extension CLIProcessTests {
    @Suite("potluck run JOB.toml")
    struct NativeJobCommandTests {
        struct Swarm {
            let root: URL
            let lenders: [NodeProcess]
            let borrower: NodeProcess
        }

        /// `count` lenders of one core each lending `tools`, and a borrower who sees all their offers.
        func startSwarm(lenders count: Int, tools: [String], cores: Int = 1, nodeArguments: [String] = [],
                        environment: [String: String] = [:]) throws -> Swarm {
            let root = try temporaryDirectory()
            let first = try NodeProcess.start(in: root, name: "lender0", arguments: nodeArguments, environment: environment)
            var lenders = [first]
            for index in 1..<count {
                lenders.append(try NodeProcess.start(in: root, name: "lender\(index)", bootstrap: [first], arguments: nodeArguments))
            }
            let borrower = try NodeProcess.start(in: root, name: "borrower", bootstrap: [first], arguments: nodeArguments)
            for lender in lenders {
                #expect(try eventually { try NodeCommandTests.tableSize(lender) >= 1 })
                let set = try lender.cli(["offer", "set", "--cores", String(cores), "--memory", "1GiB"] + tools.flatMap { ["--tool", $0] })
                #expect(set.status == 0, "\(set.stderr)")
                #expect(set.stdout.contains("native"), "\(set.stdout)")
            }
            #expect(try eventually(timeout: 20) {
                (try NodeCommandTests.json(try borrower.cli(["offers", "--runtime", "native", "--json"]).stdout)["offers"] as? [Any])?.count == count
            })
            return Swarm(root: root, lenders: lenders, borrower: borrower)
        }

        /// A job `name` under `root` of one task of the lent `sh` upper-casing `text` into
        /// `out/t.txt`; the job's directory and the job file's path.
        func writeOneTaskJob(in root: URL, _ name: String, _ text: String) throws -> (URL, String) {
            let job = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: job.appendingPathComponent("in"), withIntermediateDirectories: true)
            try "\(text)\n".write(to: job.appendingPathComponent("in/t.txt"), atomically: true, encoding: .utf8)
            return (job, try writeJob("""
                tool = "sh"
                command = "sh -c 'tr a-z A-Z < {input} > {output}'"
                timeout = "60s"
                [tasks]
                each = "in/*.txt"
                [outputs]
                file = "out/{stem}.txt"
                """, in: job))
        }

        /// `tasks` tasks of the lent `sh` of `seconds` each, each upper-casing `in/tN.txt`
        /// ("line N") into `out/tN.txt`; returns the job file's path.
        func writeUppercaseJob(tasks: Int, seconds: Int = 1, timeout: String = "30s", in job: URL) throws -> String {
            try FileManager.default.createDirectory(at: job.appendingPathComponent("in"), withIntermediateDirectories: true)
            for index in 0..<tasks { try "line \(index)\n".write(to: job.appendingPathComponent("in/t\(index).txt"), atomically: true, encoding: .utf8) }
            return try writeJob("""
                tool = "sh"
                command = "sh -c 'sleep \(seconds); tr a-z A-Z < {input} > {output}'"
                timeout = "\(timeout)"
                [tasks]
                each = "in/*.txt"
                [outputs]
                file = "out/{stem}.txt"
                """, in: job)
        }

        /// Changes one key of a lender's `config.toml` by hand, as its owner may (read at each job).
        func edit(_ lender: NodeProcess, _ key: String, from old: String, to new: String) throws {
            let config = lender.dataDirectory + "/config.toml"
            let text = try String(contentsOfFile: config, encoding: .utf8)
            #expect(text.contains("\(key) = \(old)"), "\(text)")
            try text.replacingOccurrences(of: "\(key) = \(old)", with: "\(key) = \(new)").write(toFile: config, atomically: true, encoding: .utf8)
        }

        @discardableResult
        func writeJob(_ text: String, in directory: URL) throws -> String {
            let path = directory.appendingPathComponent("job.toml").path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        @Test func aPhotoBatchRunsAcrossThreeLenders() throws {
            let swarm = try startSwarm(lenders: 3, tools: ["convert=/usr/bin/convert"])
            defer { try? FileManager.default.removeItem(at: swarm.root) }
            let job = swarm.root.appendingPathComponent("photos-job")
            try FileManager.default.createDirectory(at: job.appendingPathComponent("photos"), withIntermediateDirectories: true)
            for index in 0..<20 {
                let made = try Self.convert(["-size", "160x120", "gradient:hsb(\(index * 18),100%,100%)-navy",
                                             job.appendingPathComponent("photos/p\(index).jpg").path])
                #expect(made == 0)
            }
            let path = try writeJob("""
                tool = "convert"
                command = "convert {input} -resize 50% -unsharp 0x1 {output}"
                timeout = "60s"
                [tasks]
                each = "photos/*.jpg"
                [outputs]
                file = "out/{stem}.jpg"
                """, in: job)
            let run = try PotluckProcess.run(["run", path, "--data-dir", swarm.borrower.dataDirectory])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stderr.contains("20 of 20 task(s) done"), "\(run.stderr)")
            // Every output is exactly what the same command gives here.
            for index in 0..<20 {
                let local = swarm.root.appendingPathComponent("local-\(index).jpg").path
                #expect(try Self.convert([job.appendingPathComponent("photos/p\(index).jpg").path, "-resize", "50%", "-unsharp", "0x1", local]) == 0)
                let remote = FileManager.default.contents(atPath: job.appendingPathComponent("out/p\(index).jpg").path)
                #expect(remote != nil && remote == FileManager.default.contents(atPath: local), "out/p\(index).jpg")
            }
            // Each task ended with a receipt both signed; more than one lender gave.
            let receipts = try swarm.borrower.cli(["receipts", "list", "--json"]).stdout.split(separator: "\n")
            #expect(receipts.count == 20, "\(run.stderr)")
            let providers = Set(try receipts.map { try NodeCommandTests.json(String($0))["provider"] as? String ?? "" })
            #expect(providers.count >= 2, "the tasks spread over the lenders")
            // A tool nobody lends: matching says which tool each lender lacks.
            let blender = try writeJob("tool = \"blender\"\ncommand = \"blender -b {input} -f 1\"\n[tasks]\neach = \"photos/*.jpg\"\n[outputs]\ndir = \"out\"", in: job)
            let refused = try PotluckProcess.run(["run", blender, "--data-dir", swarm.borrower.dataDirectory])
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("no offer lends blender"), "\(refused.stderr)")
            #expect(refused.stderr.components(separatedBy: "ruled out: the lender does not lend blender").count == 4, "\(refused.stderr)")
            for lender in swarm.lenders { #expect(lender.stop() == 0) }
            #expect(swarm.borrower.stop() == 0)
        }

        @Test func aBlenderSceneRendersAcrossLendersPixelForPixel() throws {
            let swarm = try startSwarm(lenders: 3, tools: ["blender"])
            defer { try? FileManager.default.removeItem(at: swarm.root) }
            // The shipped example, copied: its make-inputs.sh builds the scene.
            let example = PotluckProcess.packageDirectory.appendingPathComponent("examples/render")
            let job = swarm.root.appendingPathComponent("render")
            try FileManager.default.createDirectory(at: job, withIntermediateDirectories: true)
            for name in ["job.toml", "make-inputs.sh", "scene.py"] {
                try FileManager.default.copyItem(at: example.appendingPathComponent(name), to: job.appendingPathComponent(name))
            }
            #expect(try Self.execute("/bin/bash", [job.appendingPathComponent("make-inputs.sh").path]) == 0)
            let run = try PotluckProcess.run(["run", job.appendingPathComponent("job.toml").path, "--data-dir", swarm.borrower.dataDirectory])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stderr.contains("8 of 8 task(s) done"), "\(run.stderr)")
            // Each frame is pixel for pixel what Blender renders here, outside any sandbox.
            for frame in [1, 5, 8] {
                let local = swarm.root.appendingPathComponent("local").path + "/frame_####"
                #expect(try Self.execute("/usr/bin/blender", ["-b", job.appendingPathComponent("scene.blend").path, "-o", local, "-F", "PNG", "-f", "\(frame)"]) == 0)
                let name = String(format: "frame_%04d.png", frame)
                let difference = try Self.execute("/usr/bin/compare", ["-metric", "AE", job.appendingPathComponent("out/" + name).path,
                                                                       swarm.root.appendingPathComponent("local/" + name).path, "null:"])
                #expect(difference == 0, "\(name) differs")
            }
            #expect(FileManager.default.fileExists(atPath: job.appendingPathComponent("out/render.mp4").path), "the [after] step assembled the video")
            for lender in swarm.lenders { #expect(lender.stop() == 0) }
            #expect(swarm.borrower.stop() == 0)
        }

        @Test func aLenderKilledMidBatchCostsOnlyTime() throws {
            let swarm = try startSwarm(lenders: 3, tools: ["sh"])
            defer { try? FileManager.default.removeItem(at: swarm.root) }
            let job = swarm.root.appendingPathComponent("slow-job")
            let path = try writeUppercaseJob(tasks: 9, in: job)
            let directory = swarm.borrower.dataDirectory
            let run = Thread.detachNewThreadResult { try? PotluckProcess.run(["run", path, "--data-dir", directory]) }
            // Once the first output has landed, one lender dies with its task in flight.
            #expect(try eventually(timeout: 30) { ((try? FileManager.default.contentsOfDirectory(atPath: job.appendingPathComponent("out").path)) ?? []).count >= 1 })
            swarm.lenders[0].stop(signal: SIGKILL)
            let result = try #require(run.wait(timeout: 90) ?? nil)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("9 of 9 task(s) done"), "\(result.stderr)")
            for index in 0..<9 {
                let text = try? String(contentsOf: job.appendingPathComponent("out/t\(index).txt"), encoding: .utf8)
                #expect(text == "LINE \(index)\n")
            }
            for lender in swarm.lenders.dropFirst() { #expect(lender.stop() == 0) }
            #expect(swarm.borrower.stop() == 0)
        }

        /// The borrower keeps one task waiting in each lender's line (spec 0019 §6); when tasks
        /// outlast the lender's `queue_wait`, that task is refused `busy` and goes back without
        /// counting against the lender, which then runs every task one after another.
        @Test func aTaskWaitingLongerThanTheLendersLineAllowsGoesBackUncounted() throws {
            let swarm = try startSwarm(lenders: 1, tools: ["sh"])
            defer { try? FileManager.default.removeItem(at: swarm.root) }
            try edit(swarm.lenders[0], "queue_wait", from: "'1m'", to: "'1s'")
            let job = swarm.root.appendingPathComponent("long-job")
            let path = try writeUppercaseJob(tasks: 3, seconds: 3, in: job)
            let result = try PotluckProcess.run(["run", path, "--data-dir", swarm.borrower.dataDirectory])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("3 of 3 task(s) done"), "\(result.stderr)")
            for index in 0..<3 {
                #expect((try? String(contentsOf: job.appendingPathComponent("out/t\(index).txt"), encoding: .utf8)) == "LINE \(index)\n")
            }
            #expect(swarm.lenders[0].stop() == 0)
            #expect(swarm.borrower.stop() == 0)
        }

        @Test func aLargeSharedInputCrossesOncePerLender() throws {
            let swarm = try startSwarm(lenders: 1, tools: ["sh"], cores: 2)
            defer { try? FileManager.default.removeItem(at: swarm.root) }
            let job = swarm.root.appendingPathComponent("shared")
            try FileManager.default.createDirectory(at: job.appendingPathComponent("parts"), withIntermediateDirectories: true)
            // 80 MB: more than one job-channel message could carry (64 MiB).
            var big = Data(count: 80_000_000)
            big.withUnsafeMutableBytes { raw in for index in stride(from: 0, to: raw.count, by: 4096) { raw[index] = UInt8(truncatingIfNeeded: index >> 12) } }
            try big.write(to: job.appendingPathComponent("big.bin"))
            for index in 0..<4 { try "part \(index)\n".write(to: job.appendingPathComponent("parts/p\(index).txt"), atomically: true, encoding: .utf8) }
            let path = try writeJob("""
                tool = "sh"
                command = "sh -c 'cat {input} > {output}; wc -c < {big} >> {output}; md5sum < {big} >> {output}'"
                [inputs]
                big = "big.bin"
                [tasks]
                each = "parts/*.txt"
                [outputs]
                file = "out/{stem}.txt"
                """, in: job)
            let run = try PotluckProcess.run(["run", path, "--data-dir", swarm.borrower.dataDirectory])
            #expect(run.status == 0, "\(run.stderr)")
            // The big file crossed once, each part once: 80,000,000 + 4 × 7 bytes.
            #expect(run.stderr.contains("4 of 4 task(s) done; 80.0 MB of inputs sent"), "\(run.stderr)")
            let md5 = try Self.output("/usr/bin/md5sum", [job.appendingPathComponent("big.bin").path]).prefix(32)
            for index in 0..<4 {
                let text = try String(contentsOf: job.appendingPathComponent("out/p\(index).txt"), encoding: .utf8)
                #expect(text == "part \(index)\n80000000\n\(md5)  -\n", "\(text)")
            }
            #expect(swarm.lenders[0].stop() == 0 && swarm.borrower.stop() == 0)
        }

        /// Replicas (spec 0019 §6.2): each task runs on three lenders, one of which lends an `sh`
        /// that lower-cases what the job upper-cases. Its result loses the vote: the output is the
        /// majority's, its receipt is refused `outvoted`, the others are countersigned. When the
        /// wrong one comes back late (25 s), the winners' proposals are held past their lenders'
        /// wait, countersigned once it is back, and reach the lenders through the DHT by
        /// themselves (the nodes' receipt keepers, every second here). The outvoted lender is
        /// avoided from then on (§6.3) until the borrower forgets it.
        @Test func aWrongResultIsOutvotedByTheReplicas() throws {
            let swarm = try startSwarm(lenders: 3, tools: ["sh"], nodeArguments: ["--receipts-interval", "1s"])
            defer { try? FileManager.default.removeItem(at: swarm.root) }
            let evil = swarm.root.appendingPathComponent("evil-tools/sh").path
            try FileManager.default.createDirectory(atPath: (evil as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try """
                #!/usr/bin/dash
                script=$(printf '%s' "$2" | /usr/bin/sed 's/a-z A-Z/A-Z a-z/')
                /usr/bin/grep -qs slow /job/in/* && sleep 25
                exec /usr/bin/dash -c "$script"

                """.write(toFile: evil, atomically: true, encoding: .utf8)
            chmod(evil, 0o755)
            let set = try swarm.lenders[2].cli(["offer", "set", "--cores", "1", "--memory", "1GiB", "--tool", "sh=\(evil)"])
            #expect(set.status == 0, "\(set.stderr)")
            let ids = try swarm.lenders.map { try $0.cli(["id"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
            let borrowerID = try swarm.borrower.cli(["id"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            func receipts(_ node: NodeProcess) throws -> [[String: Any]] {
                try node.cli(["receipts", "list", "--json"]).stdout.split(separator: "\n").map { try NodeCommandTests.json(String($0)) }
            }
            func complete(_ node: NodeProcess, from lender: String) throws -> Int {
                try receipts(node).filter { $0["provider"] as? String == lender && $0["complete"] as? Bool == true }.count
            }

            for (round, text) in ["line", "slow line"].enumerated() {
                let (job, path) = try writeOneTaskJob(in: swarm.root, "replicas\(round)", text)
                let run = try PotluckProcess.run(["run", path, "--replicas", "3", "--data-dir", swarm.borrower.dataDirectory])
                #expect(run.status == 0, "\(run.stderr)")
                #expect(run.stderr.contains("1 task(s) of sh over 3 lender(s), each on 3 of them"), "\(run.stderr)")
                #expect(run.stderr.contains("replicas disagreed on 1 task(s); outvoted, their receipts refused and no more tasks sent to them: \(ids[2].prefix(16))…"), "\(run.stderr)")
                #expect(try String(contentsOf: job.appendingPathComponent("out/t.txt"), encoding: .utf8) == text.uppercased() + "\n")
                let left = try FileManager.default.contentsOfDirectory(atPath: job.appendingPathComponent("out").path)
                #expect(left == ["t.txt"], "no replica's staging is left: \(left)")
                for lender in 0..<2 { #expect(try complete(swarm.borrower, from: ids[lender]) == round + 1, "round \(round)") }
                #expect(try complete(swarm.borrower, from: ids[2]) == 0)
                let avoided = try swarm.borrower.cli(["avoid", "--json"]).stdout.split(separator: "\n").map { try NodeCommandTests.json(String($0)) }
                #expect(avoided.count == 1 && avoided.first?["lender"] as? String == ids[2], "\(avoided)")
                #expect((avoided.first?["reason"] as? String ?? "").contains("its result of a sh task of \(path) differed from the majority's of 3 replicas"))
                guard round == 0 else { break }
                // Avoided, the lender is ruled out: three replicas need three lenders, and the run says why.
                let refused = try PotluckProcess.run(["run", path, "--replicas", "3", "--data-dir", swarm.borrower.dataDirectory])
                #expect(refused.status == 1, "\(refused.stderr)")
                #expect(refused.stderr.contains("ruled out: you avoid this lender since "), "\(refused.stderr)")
                #expect(refused.stderr.contains("Error: --replicas 3 needs 3 lenders of sh and 2 can run this job"), "\(refused.stderr)")
                #expect(try swarm.borrower.cli(["avoid", "forget", ids[2]]).stdout.contains("no longer avoiding \(ids[2])"))
            }
            // Round 0 was answered on the channel. Round 1's were held past the lenders' wait and
            // countersigned after the vote: each lender's node gathers them from the borrower's
            // published receipts, with no command.
            #expect(try eventually(timeout: 60) {
                try (0..<2).allSatisfy { try complete(swarm.lenders[$0], from: ids[$0]) == 2 }
            }, "the held receipts are complete at their lenders too")
            for lender in 0..<2 { #expect(try receipts(swarm.lenders[lender]).allSatisfy { $0["complete"] as? Bool == true }) }
            #expect(try eventually { try swarm.lenders[2].stderr.contains("refused the receipt") })
            #expect(try complete(swarm.lenders[2], from: ids[2]) == 0)
            #expect(swarm.lenders[0].stderr.contains("gathered 1 receipt(s) from \(borrowerID.prefix(16))…"), "\(swarm.lenders[0].stderr)")

            // Detached (§6.1), the node runs the replicas the same way and avoids the outvoted lender.
            #expect(try swarm.borrower.cli(["avoid", "forget", ids[2]]).status == 0)
            let (job, path) = try writeOneTaskJob(in: swarm.root, "replicas-detached", "line")
            let submitted = try swarm.borrower.cli(["run", "--detach", "--replicas", "3", path])
            #expect(submitted.status == 0, "\(submitted.stderr)")
            let id = submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let shown = try swarm.borrower.cli(["jobs", "show", id, "--wait", "--timeout", "60s", "--json"])
            #expect(shown.status == 0, "\(shown.stdout) \(shown.stderr)")
            #expect(try NodeCommandTests.json(shown.stdout)["phase"] as? String == "done")
            #expect(try String(contentsOf: job.appendingPathComponent("out/t.txt"), encoding: .utf8) == "LINE\n")
            let log = try swarm.borrower.cli(["logs", id]).stdout
            #expect(log.contains("submitted: 1 task(s) of sh, each on 3 lenders"), "\(log)")
            #expect(log.contains("outvoted, their receipts refused and avoided from now on: \(ids[2].prefix(16))…"), "\(log)")
            #expect(try swarm.borrower.cli(["avoid"]).stdout.contains("(job \(id))"))
            for lender in 0..<2 { #expect(try complete(swarm.borrower, from: ids[lender]) == 3) }
            for node in swarm.lenders + [swarm.borrower] { #expect(node.stop() == 0) }
        }

        /// §6.2: a task whose third lender cannot run it (its lent tool vanished) is decided by
        /// the two replicas that ran as soon as no other lender may run it: their output is
        /// kept, both receipts are countersigned on the channel, and the run says the task had
        /// fewer replicas than asked.
        @Test func aTaskIsDecidedByTheReplicasThatRanWhenNoLenderIsLeft() throws {
            let swarm = try startSwarm(lenders: 3, tools: ["sh"])
            defer { try? FileManager.default.removeItem(at: swarm.root) }
            let gone = swarm.root.appendingPathComponent("gone-tools/sh").path
            try FileManager.default.createDirectory(atPath: (gone as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: "/usr/bin/dash", toPath: gone)
            let set = try swarm.lenders[2].cli(["offer", "set", "--cores", "1", "--memory", "1GiB", "--tool", "sh=\(gone)"])
            #expect(set.status == 0, "\(set.stderr)")
            try FileManager.default.removeItem(atPath: gone)
            let ids = try swarm.lenders.map { try $0.cli(["id"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
            let (job, path) = try writeOneTaskJob(in: swarm.root, "short", "line")
            let run = try PotluckProcess.run(["run", path, "--replicas", "3", "--data-dir", swarm.borrower.dataDirectory])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stderr.contains("1 task(s) decided by fewer than 3 replicas: no lender was left for the others"), "\(run.stderr)")
            #expect(try String(contentsOf: job.appendingPathComponent("out/t.txt"), encoding: .utf8) == "LINE\n")
            let receipts = try swarm.borrower.cli(["receipts", "list", "--json"]).stdout.split(separator: "\n")
                .map { try NodeCommandTests.json(String($0)) }
            for lender in 0..<2 {
                #expect(receipts.contains { $0["provider"] as? String == ids[lender] && $0["complete"] as? Bool == true }, "\(receipts)")
            }
            #expect(!run.stderr.contains("outvoted"), "\(run.stderr)")
            // Settled as soon as the third lender's slots gave up (its replicas still running
            // or not), the two replicas waiting for the vote are answered on the channel: their
            // lenders store the complete receipts as the countersignatures arrive, which may be
            // just after the run exits.
            for lender in 0..<2 {
                func held() throws -> [[String: Any]] {
                    try swarm.lenders[lender].cli(["receipts", "list", "--json"]).stdout.split(separator: "\n")
                        .map { try NodeCommandTests.json(String($0)) }
                }
                let stored = try eventually(timeout: 10) {
                    try held().contains { $0["provider"] as? String == ids[lender] && $0["complete"] as? Bool == true }
                }
                let now = try held()
                #expect(stored, "\(now)")
            }
            for node in swarm.lenders + [swarm.borrower] { #expect(node.stop() == 0) }
        }

        /// Spec 0017 §3.4: a lender whose owner is at the machine refuses `not-idle`; the batch
        /// puts the task back uncounted and runs it elsewhere, and the borrower leaves that
        /// lender alone for ten minutes — the next run does not ask it — unless told to forget.
        @Test func aLenderWhoseOwnerCameBackIsLeftAloneForAWhile() throws {
            let swarm = try startSwarm(lenders: 2, tools: ["sh"])
            defer { try? FileManager.default.removeItem(at: swarm.root) }
            let ids = try swarm.lenders.map { try $0.cli(["id"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
            #expect(try swarm.lenders[1].cli(["offer", "set", "--idle-only"]).status == 0)
            // At `idle_load = 0` the machine never counts as idle: its owner is always at it.
            try edit(swarm.lenders[1], "idle_load", from: "0.25", to: "0")
            let path = try writeUppercaseJob(tasks: 4, seconds: 0, in: swarm.root.appendingPathComponent("owner-back"))
            let run = try PotluckProcess.run(["run", path, "--data-dir", swarm.borrower.dataDirectory])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stderr.contains("4 of 4 task(s) done"), "\(run.stderr)")
            #expect(run.stderr.contains("the owner of \(ids[1].prefix(16))… came back to the machine; no work goes there for the next 10 minutes"), "\(run.stderr)")
            func refusals() -> Int { swarm.lenders[1].stderr.components(separatedBy: "not-idle:").count - 1 }
            let refused = refusals()
            #expect(refused >= 1, "\(swarm.lenders[1].stderr)")
            let avoided = try swarm.borrower.cli(["avoid", "--json"]).stdout.split(separator: "\n").map { try NodeCommandTests.json(String($0)) }
            #expect(avoided.count == 1 && avoided.first?["lender"] as? String == ids[1], "\(avoided)")
            if let since = avoided.first?["since_ms"] as? Int, let until = avoided.first?["until_ms"] as? Int { #expect(until - since == 600_000) } else {
                Issue.record("no since_ms and until_ms in \(avoided)")
            }

            // The next run does not ask it, and says why.
            let again = try PotluckProcess.run(["run", path, "--explain", "--data-dir", swarm.borrower.dataDirectory])
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stderr.contains("\(ids[1].prefix(16))… ruled out: its owner was using it (it refused a task: not-idle); asked again from "), "\(again.stderr)")
            #expect(refusals() == refused, "\(swarm.lenders[1].stderr)")
            // Forgotten, it is asked again (and refuses again).
            #expect(try swarm.borrower.cli(["avoid", "forget", ids[1]]).status == 0)
            let third = try PotluckProcess.run(["run", path, "--data-dir", swarm.borrower.dataDirectory])
            #expect(third.status == 0, "\(third.stderr)")
            #expect(refusals() > refused, "\(swarm.lenders[1].stderr)")
            for node in swarm.lenders + [swarm.borrower] { #expect(node.stop() == 0) }
        }

        /// Spec 0019 §2.4: a lender pauses the task it runs while its owner has paused lending
        /// (`offer pause`) and, lending only while idle, while its owner uses the machine; it
        /// tells the borrower each time, and lets the task go on when lending resumes and the
        /// machine is idle again; the task's deadline waits for it.
        @Test func aTaskPausesWhileTheLendersOwnerUsesTheMachine() throws {
            // The lender reads its machine's load from a /proc of the test's making: the owner
            // comes and goes when the test says, whatever else this machine runs.
            let proc = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: proc) }
            let loadavg = proc.appendingPathComponent("loadavg")
            func owner(_ load: String) throws { try "\(load) \(load) \(load) 1/100 1\n".write(to: loadavg, atomically: true, encoding: .utf8) }
            try owner("0.00")
            let swarm = try startSwarm(lenders: 1, tools: ["sh"], environment: ["POTLUCK_HOST_PROC": proc.path])
            defer { try? FileManager.default.removeItem(at: swarm.root) }
            let lender = swarm.lenders[0]
            #expect(try lender.cli(["offer", "set", "--idle-only"]).status == 0)
            let job = swarm.root.appendingPathComponent("paused")
            // 40 s of sleep within a 60 s deadline: with about 30 s paused it ends past 60 s.
            let path = try writeUppercaseJob(tasks: 1, seconds: 40, timeout: "60s", in: job)
            let started = Date()
            let run = try StreamingProcess(["run", path, "--data-dir", swarm.borrower.dataDirectory])
            defer { run.kill() }
            #expect(eventually(timeout: 30) { lender.stderr.contains("running job") }, "\(lender.stderr)")
            func told(_ text: String, times: Int) -> Bool {
                eventually(timeout: 60) { run.stderr.components(separatedBy: text).count - 1 >= times }
            }
            // The owner pauses lending from a terminal, then resumes it.
            let pause = try lender.cli(["offer", "pause"])
            #expect(pause.status == 0 && pause.stdout.contains("running jobs are paused"), "\(pause.stderr)")
            #expect(told("paused: its owner is using the machine", times: 1), "\(run.stderr)")
            #expect(lender.stderr.contains("lending paused: 1 running job(s) paused"), "\(lender.stderr)")
            let status = try lender.cli(["status"])
            #expect(status.stdout.contains("lending: paused"), "\(status.stdout)")
            #expect(try lender.cli(["offer", "resume"]).status == 0)
            #expect(told("goes on: the machine is idle again", times: 1), "\(run.stderr)")
            #expect(lender.stderr.contains("lending resumed: 1 paused job(s) go on"), "\(lender.stderr)")
            #expect(try !lender.cli(["status"]).stdout.contains("lending: paused"))
            // The owner uses the machine, then leaves it.
            try owner("8.00")
            #expect(told("paused: its owner is using the machine", times: 2), "\(run.stderr)")
            #expect(lender.stderr.contains("borrowers skip it; 1 running job(s) paused"), "\(lender.stderr)")
            try owner("0.00")
            #expect(told("goes on: the machine is idle again", times: 2), "\(run.stderr)")
            let result = run.wait()
            #expect(result.status == 0 && result.stderr.contains("1 of 1 task(s) done"), "\(result.stderr)")
            #expect(Date().timeIntervalSince(started) > 60, "it ran past its 60 s deadline, which waited for it")
            #expect((try? String(contentsOf: job.appendingPathComponent("out/t0.txt"), encoding: .utf8)) == "LINE 0\n")
            #expect(lender.stderr.contains("1 paused job(s) go on"), "\(lender.stderr)")
            #expect(lender.stop() == 0 && swarm.borrower.stop() == 0)
        }

        /// Spec 0020 §5: outputs larger than any message (64 MiB) and than the old inline limit
        /// (48 MiB a task) come back by content, verified; two outputs of one content cross once.
        @Test func aLargeOutputComesBackByContent() throws {
            let swarm = try startSwarm(lenders: 1, tools: ["sh"], cores: 2)
            defer { try? FileManager.default.removeItem(at: swarm.root) }
            let job = swarm.root.appendingPathComponent("outputs")
            try FileManager.default.createDirectory(at: job.appendingPathComponent("parts"), withIntermediateDirectories: true)
            for index in 0..<2 { try "p\(index)\n".write(to: job.appendingPathComponent("parts/p\(index).txt"), atomically: true, encoding: .utf8) }
            let path = try writeJob("""
                tool = "sh"
                command = "sh -c 'yes {stem} | head -c 70000000 > {outdir}/{stem}.bin; cp {outdir}/{stem}.bin {outdir}/{stem}-copy.bin; md5sum < {outdir}/{stem}.bin > {outdir}/{stem}.md5'"
                [tasks]
                each = "parts/*.txt"
                [outputs]
                dir = "out"
                """, in: job)
            let run = try PotluckProcess.run(["run", path, "--data-dir", swarm.borrower.dataDirectory])
            #expect(run.status == 0, "\(run.stderr)")
            // Each task's big output crossed once, its copy not again: 2 × (70,000,000 + 33) bytes.
            #expect(run.stderr.contains("2 of 2 task(s) done; 0.0 MB of inputs sent, 140.0 MB of outputs received"), "\(run.stderr)")
            let out = job.appendingPathComponent("out")
            for stem in ["p0", "p1"] {
                let md5 = try Self.output("/usr/bin/md5sum", [out.appendingPathComponent("\(stem).bin").path]).prefix(32)
                #expect(try String(contentsOf: out.appendingPathComponent("\(stem).md5"), encoding: .utf8) == "\(md5)  -\n")
                #expect(try Self.output("/usr/bin/md5sum", [out.appendingPathComponent("\(stem)-copy.bin").path]).prefix(32) == md5)
                let size = try FileManager.default.attributesOfItem(atPath: out.appendingPathComponent("\(stem).bin").path)[.size] as? Int
                #expect(size == 70_000_000)
            }
            let left = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
            #expect(left == ["p0-copy.bin", "p0.bin", "p0.md5", "p1-copy.bin", "p1.bin", "p1.md5"], "nothing else is left: \(left)")
            #expect(swarm.lenders[0].stop() == 0 && swarm.borrower.stop() == 0)
        }

        /// A borrower killed while a task's output comes back keeps what it received in the
        /// task's staging directory; run again, the task makes the same output and its transfer
        /// resumes there (spec 0020 §5); nothing is left beside the outputs.
        @Test func anOutputCutShortResumesWhenTheTaskRunsAgain() throws {
            let swarm = try startSwarm(lenders: 1, tools: ["sh"])
            defer { try? FileManager.default.removeItem(at: swarm.root) }
            let job = swarm.root.appendingPathComponent("resume")
            try FileManager.default.createDirectory(at: job.appendingPathComponent("parts"), withIntermediateDirectories: true)
            try "p0\n".write(to: job.appendingPathComponent("parts/p0.txt"), atomically: true, encoding: .utf8)
            let path = try writeJob("""
                tool = "sh"
                command = "sh -c 'yes {stem} | head -c 300000000 > {outdir}/{stem}.bin'"
                [tasks]
                each = "parts/*.txt"
                [outputs]
                dir = "out"
                """, in: job)
            let out = job.appendingPathComponent("out").path
            func received() -> Int64 {
                let staging = ((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []).filter { $0.hasPrefix(".potluck-incoming-") }
                return staging.reduce(0) { total, name in
                    let partial = out + "/" + name + "/partial"
                    return total + ((try? FileManager.default.contentsOfDirectory(atPath: partial)) ?? []).reduce(0) {
                        $0 + (((try? FileManager.default.attributesOfItem(atPath: partial + "/" + $1))?[.size] as? NSNumber)?.int64Value ?? 0)
                    }
                }
            }
            let first = try StreamingProcess(["run", path, "--data-dir", swarm.borrower.dataDirectory])
            #expect(eventually(timeout: 60) { received() >= 50_000_000 }, "\(first.stderr)")
            first.kill()
            _ = first.wait()
            let kept = received()
            #expect(kept >= 50_000_000 && kept < 300_000_000)
            let second = try PotluckProcess.run(["run", path, "--data-dir", swarm.borrower.dataDirectory])
            #expect(second.status == 0, "\(second.stderr)")
            let megabytes = String(format: "%.1f MB of outputs received", Double(300_000_000 - kept) / 1e6)
            #expect(second.stderr.contains(megabytes), "\(kept) bytes were kept: \(second.stderr)")
            let saved = try FileHandle(forReadingFrom: job.appendingPathComponent("out/p0.bin"))
            defer { try? saved.close() }
            #expect(try saved.seekToEnd() == 300_000_000)
            try saved.seek(toOffset: 299_999_990)
            #expect(String(decoding: try saved.readToEnd() ?? Data(), as: UTF8.self) == "\np0\np0\np0\n")
            #expect(try FileManager.default.contentsOfDirectory(atPath: out) == ["p0.bin"])
            #expect(swarm.lenders[0].stop() == 0)
            #expect(swarm.borrower.stop() == 0)
        }

        /// The lender's `max_disk` bounds each task: inputs that add up to more are refused
        /// before they are all sent, and a task that writes more is stopped, each saying why.
        @Test func theLendersDiskCapBoundsInputsAndOutputs() throws {
            let swarm = try startSwarm(lenders: 1, tools: ["sh"])
            defer { try? FileManager.default.removeItem(at: swarm.root) }
            try edit(swarm.lenders[0], "max_disk", from: "'10GiB'", to: "'2MiB'")
            let job = swarm.root.appendingPathComponent("disk")
            try FileManager.default.createDirectory(at: job.appendingPathComponent("in"), withIntermediateDirectories: true)
            try Data(repeating: 7, count: 3_000_000).write(to: job.appendingPathComponent("in/big.bin"))
            let big = try writeJob("""
                tool = "sh"
                command = "sh -c 'wc -c < {input} > {output}'"
                [tasks]
                each = "in/*.bin"
                [outputs]
                file = "out/{stem}.txt"
                """, in: job)
            let refused = try PotluckProcess.run(["run", big, "--data-dir", swarm.borrower.dataDirectory])
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("this lender takes at most 2.0MiB a task (max_disk)"), "\(refused.stderr)")
            let writer = swarm.root.appendingPathComponent("writer")
            let path = try writeUppercaseJob(tasks: 1, seconds: 0, in: writer)
            try writeJob(try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(
                of: "sleep 0;", with: "head -c 5000000 /dev/zero > {output}; sleep 2;"), in: writer)
            let stopped = try PotluckProcess.run(["run", path, "--data-dir", swarm.borrower.dataDirectory])
            #expect(stopped.status != 0)
            #expect(stopped.stderr.contains("disk limit of 2097152 bytes"), "\(stopped.stderr)")
            #expect(swarm.lenders[0].stop() == 0)
            #expect(swarm.borrower.stop() == 0)
        }

        @Test func aJobFileMistakeIsOneLineBeforeAnythingIsSent() throws {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            let borrower = try NodeProcess.start(in: root, name: "borrower")
            let cases: [(String, String)] = [
                ("tool = \"convert\"\ncommand = \"convert {input} {output}\"\ncolour = 1\n[tasks]\neach = \"*.jpg\"\n[outputs]\nfile = \"out/{stem}.jpg\"", "unknown key 'colour'"),
                ("tool = \"convert\"\ncommand = \"convert {input} {size} {output}\"\n[tasks]\neach = \"*.jpg\"\n[outputs]\nfile = \"out/{stem}.jpg\"", "uses {size}"),
                ("tool = \"convert\"\ncommand = \"convert {input} {output}\"\n[tasks]\neach = \"*.jpg\"\n[outputs]\nfile = \"out/{stem}.jpg\"", "matches no file"),
                ("tool = \"convert\"\ncommand = \"convert {input} {output}\"\n[tasks]\neach = \"*.toml\"\n[outputs]\nfile = \"../{stem}.jpg\"", "inside the job's directory"),
                ("command = \"convert {input} {output}\"\n[tasks]\neach = \"*.toml\"\n[outputs]\nfile = \"out/{stem}.jpg\"", "'tool' is missing"),
            ]
            for (text, message) in cases {
                let path = root.appendingPathComponent("job.toml").path
                try text.write(toFile: path, atomically: true, encoding: .utf8)
                let run = try PotluckProcess.run(["run", path, "--data-dir", borrower.dataDirectory])
                #expect(run.status != 0)
                let lines = run.stderr.split(separator: "\n").filter { !$0.hasPrefix("potluck: ") || $0.contains("rror") }
                #expect(run.stderr.contains(message), "\(message): \(run.stderr)")
                #expect(lines.count == 1, "one line: \(run.stderr)")
            }
            #expect(borrower.stop() == 0)
        }

        /// Runs ImageMagick's `convert` here; its exit status.
        static func convert(_ arguments: [String]) throws -> Int32 { try execute("/usr/bin/convert", arguments) }

        /// Runs a program here; what it printed.
        static func output(_ program: String, _ arguments: [String]) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }

        /// Runs a program here, its output discarded; its exit status.
        static func execute(_ program: String, _ arguments: [String]) throws -> Int32 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus
        }
    }
}
