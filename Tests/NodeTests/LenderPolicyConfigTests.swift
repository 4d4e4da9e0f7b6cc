import PotluckCrypto
import Foundation
import JobChannel
import Jobs
import Lending
import Testing
@testable import Node

/// The lender's policy as the node reads it from `DIR/config.toml` (spec 0017 §3).
@Suite struct LenderPolicyConfigTests {
    func write(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "/potluck-config-\(UUID().uuidString).toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func theWholePolicyIsReadFromTheConfigFile() throws {
        let friend = SigningKey.generate().publicKey
        let path = try write("""
            [offer]
            cores = 3
            memory = "2GiB"
            windows = ["22:00-06:00"]
            idle_only = true
            friends = ["\(friend.peerID)"]
            max_jobs = 4
            max_wall = "10m"
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let policy = try LenderConfig.load(from: path).policy()
        #expect(try LenderConfig.load(from: path).lineRule.order == .potluck, "Potluck's rule by default")
        #expect(policy.cores == 3 && policy.memoryBytes == 2 << 30 && policy.maxJobs == 4 && policy.maxWallSeconds == 600)
        #expect(policy.idleOnly && policy.friends == [friend] && policy.windows.map(\.description) == ["22:00-06:00"])
        // Saved and read back, it is the same policy.
        let copy = path + ".copy"
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try LenderConfig.load(from: path).save(to: copy)
        #expect(try LenderConfig.load(from: copy).policy() == policy)
        // The line rule is kept too.
        var fifo = try LenderConfig.load(from: path)
        fifo.serve = "fifo"
        fifo.gaveWeight = 0.25
        try fifo.save(to: copy)
        #expect(try LenderConfig.load(from: copy).lineRule.order == .fifo)
        #expect(try LenderConfig.load(from: copy).lineRule.gaveWeight == 0.25)
        // So are the relay's limits (spec 0021 §5), which default to 10 GiB a day.
        #expect(try LenderConfig.load(from: path).relayLimits().bytesPerDay == 10 << 30)
        var relay = try LenderConfig.load(from: path)
        relay.relayPerDay = "2GiB"
        relay.relayCircuits = 4
        try relay.save(to: copy)
        let limits = try LenderConfig.load(from: copy).relayLimits()
        #expect(limits.bytesPerDay == 2 << 30 && limits.circuits == 4 && limits.bytesPerCircuit == 4 << 30)
        // And how long a job may wait in line (spec 0017 §3.2): a minute unless set.
        #expect(try LenderConfig.load(from: path).queueWaitDuration == .seconds(60))
        var patient = try LenderConfig.load(from: path)
        patient.queueWait = "10m"
        try patient.save(to: copy)
        #expect(try LenderConfig.load(from: copy).queueWaitDuration == .seconds(600))
        // And the disk one task may take here: 10 GiB unless set.
        #expect(try LenderConfig.load(from: path).maxDiskBytes == 10 << 30)
        patient.maxDisk = "2GiB"
        try patient.save(to: copy)
        #expect(try LenderConfig.load(from: copy).maxDiskBytes == 2 << 30)
    }

    @Test func mistakesNameTheKey() throws {
        for (text, message) in [("max_jobs = 0", "offer.max_jobs must be an integer from 1 to 1024"),
                                ("max_wall = \"soon\"", "max_wall 'soon' is not a duration"),
                                ("gave_weight = 2.0", "offer.gave_weight must be a number from 0 to 1"),
                                ("idle_load = 1.5", "offer.idle_load must be a number from 0 to 1"),
                                ("serve = \"richest\"", "offer.serve must be one of trust, given, fifo, favors, potluck"),
                                ("relay_per_day = \"1KiB\"", "offer.relay_per_day must be a size of at least 1MiB"),
                                ("relay_circuits = 0", "offer.relay_circuits must be a whole number of at least 1"),
                                ("queue_wait = \"2d\"", "offer.queue_wait must be a duration from 1s to 24h"),
                                ("queue_wait = \"later\"", "offer.queue_wait must be a duration from 1s to 24h"),
                                ("max_disk = \"lots\"", "offer.max_disk must be a size of at least 1MiB")] {
            let path = try write("[offer]\n\(text)\n")
            defer { try? FileManager.default.removeItem(atPath: path) }
            #expect {
                try LenderConfig.load(from: path).policy()
            } throws: { error in
                "\(error)".contains(message)
            }
        }
    }

    @Test func idleMeansTheRestOfTheMachineKeepsUnderAQuarterOfItsCoresBusy() {
        #expect(MachineLoad.state(load: 0.3, cores: 2, potluckCores: 0).idle)
        #expect(!MachineLoad.state(load: 0.6, cores: 2, potluckCores: 0).idle)
        // Potluck's own jobs do not make the machine busy.
        #expect(MachineLoad.state(load: 2.2, cores: 4, potluckCores: 2).idle)
        #expect(MachineLoad.state(load: 1.9, cores: 2, potluckCores: 0).detail.contains("load 1.90 on 2 cores"))
        // The lender's `idle_load` moves the line; at 0 the machine never counts as idle.
        #expect(MachineLoad.state(load: 0.6, cores: 2, potluckCores: 0, idleShare: 0.5).idle)
        #expect(!MachineLoad.state(load: 0, cores: 2, potluckCores: 0, idleShare: 0).idle)
    }
}
