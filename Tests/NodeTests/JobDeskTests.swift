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

    func arrive(_ desk: JobDesk, _ id: JobDesk.JobID, _ policy: LenderPolicy,
                queued: @escaping @Sendable (Int) -> Void = { _ in }) async -> JobDesk.Decision {
        await desk.arrive(id, borrower: SigningKey.generate().publicKey, digest: Bytes32(), demand: Self.oneCore, needsInputs: false,
                          policy: policy, queueWait: .seconds(600), conditions: Self.idle, trust: { 0 }, onQueued: { queued($0) })
    }

    /// Bounded: a desk that never answers fails the test instead of hanging the suite.
    @Test(.timeLimit(.minutes(5)))
    func aWaitingJobStartsWhenTheSlotFreesAndALeaverGivesUpItsPlace() async {
        let policy = LenderPolicy(cores: 1, memoryBytes: 1 << 30, maxJobs: 1)
        let desk = JobDesk(policy: policy)
        #expect(await arrive(desk, 1, policy) == .start)
        // Each borrower hears its place in line: the fact the test waits for.
        let (places, told) = AsyncStream.makeStream(of: Int.self)
        let second = Task { await arrive(desk, 2, policy) { told.yield($0) } }
        var iterator = places.makeAsyncIterator()
        #expect(await iterator.next() == 1)
        let third = Task { await arrive(desk, 3, policy) { told.yield($0) } }
        #expect(await iterator.next() == 2)
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
