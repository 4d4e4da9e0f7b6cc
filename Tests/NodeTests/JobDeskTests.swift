import Foundation
import Jobs
import Lending
import PotluckCrypto
import Testing
@testable import Node

/// The node's driver of the lender desk: words reach the right waiting task, and a borrower
/// that leaves gives up its place in line.
@Suite struct JobDeskTests {
    static let oneCore = JobDemand(cores: 1, memoryBytes: 1 << 20, coreSeconds: 10, wallSeconds: 10)
    static let idle = LenderDesk.Conditions(minuteOfDay: 0, machine: MachineState(idle: true, detail: "idle"))

    func arrive(_ desk: JobDesk, _ id: JobDesk.JobID, _ policy: LenderPolicy) async -> JobDesk.Decision {
        await desk.arrive(id, borrower: SigningKey.generate().publicKey, digest: Bytes32(), demand: Self.oneCore, needsInputs: false,
                          policy: policy, conditions: Self.idle, trust: { 0 }, onQueued: { _ in })
    }

    /// Whether `condition` holds within `deadline`, checked every 10 ms: the tasks that make it
    /// true run meanwhile (in the full suite, blocking process tests starved them for 76 s).
    func waitUntil(_ deadline: Duration, _ condition: () async -> Bool) async -> Bool {
        let end = ContinuousClock.now + deadline
        while ContinuousClock.now < end {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    @Test func aWaitingJobStartsWhenTheSlotFreesAndALeaverGivesUpItsPlace() async {
        let policy = LenderPolicy(cores: 1, memoryBytes: 1 << 30, maxJobs: 1)
        let desk = JobDesk(policy: policy, maxQueueWait: .seconds(600))
        #expect(await arrive(desk, 1, policy) == .start)
        let second = Task { await arrive(desk, 2, policy) }
        let third = Task { await arrive(desk, 3, policy) }
        guard await waitUntil(.seconds(300), { await desk.waitingCount == 2 }) else {
            Issue.record("the two jobs never waited in line")
            return
        }
        // The second job's borrower leaves: its task hears so, and only the third still waits.
        await desk.borrowerLeft(2)
        #expect(await second.value == .refused(JobRefusal(.unavailable, "the borrower left")))
        #expect(await desk.waitingCount == 1)
        // The running job ends: the third starts.
        await desk.release(1)
        #expect(await third.value == .start)
        #expect(await desk.waitingCount == 0)
        #expect(await desk.coresInUse == 1)
        // A borrower leaving a running job changes nothing here (the sandbox kills the guest).
        await desk.borrowerLeft(3)
        #expect(await desk.coresInUse == 1)
    }
}
