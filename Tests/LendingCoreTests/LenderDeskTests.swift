// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Jobs
import Lending
import PotluckCrypto
import Testing

/// The lender's desk (`spec/0017-jobs.md` §3) on its own: policy first, then the line, then
/// who starts when a slot frees up; every decision an action the driver carries out.
@Suite struct LenderDeskTests {
    static func peer(_ n: UInt8) -> PublicKey {
        PublicKey(raw: Bytes32([UInt8](repeating: n, count: 32))!)
    }

    static let idle = LenderDesk.Conditions(minuteOfDay: 600, machine: MachineState(idle: true, detail: "idle"))
    static let oneCore = JobDemand(cores: 1, memoryBytes: 1 << 20, coreSeconds: 10, wallSeconds: 10)

    /// A desk lending two cores, one job per core, jobs waiting at most 60 s.
    static func desk(friends: Set<PublicKey> = [], denied: Set<PublicKey> = []) -> LenderDesk {
        LenderDesk(policy: LenderPolicy(cores: 2, memoryBytes: 1 << 30, denied: denied, friends: friends, maxJobs: 2),
                   maxQueueWait: .seconds(60))
    }

    @Test func aJobThatFitsStartsAtOnce() {
        var desk = Self.desk()
        let actions = desk.arrive(1, borrower: Self.peer(1), digest: Bytes32(), demand: Self.oneCore, conditions: Self.idle,
                                  now: .seconds(5)) { 0 }
        #expect(actions == [.start(1)])
        #expect(desk.running.map(\.borrower) == [Self.peer(1)])
        #expect(desk.running.first?.startedAt == .seconds(5))
        #expect(desk.load.cores == 1)
    }

    /// A full desk queues the third job, tells its place and asks to be woken at its deadline;
    /// when a running job finishes, the waiting one starts.
    @Test func aFullDeskQueuesThenStartsWhoIsNext() {
        var desk = Self.desk()
        _ = desk.arrive(1, borrower: Self.peer(1), digest: Bytes32(), demand: Self.oneCore, conditions: Self.idle, now: .zero) { 0 }
        _ = desk.arrive(2, borrower: Self.peer(2), digest: Bytes32(), demand: Self.oneCore, conditions: Self.idle, now: .zero) { 0 }
        let third = desk.arrive(3, borrower: Self.peer(3), digest: Bytes32(), demand: Self.oneCore, conditions: Self.idle,
                                now: .seconds(1)) { 0 }
        #expect(third == [.queued(3, position: 1), .wake(3, at: .seconds(61))])
        #expect(desk.waitingCount == 1 && desk.isWaiting(3) && !desk.isWaiting(1))
        #expect(desk.finished(2, now: .seconds(9)) == [.start(3)])
        #expect(!desk.isWaiting(3))
        #expect(desk.waitingCount == 0)
        #expect(Set(desk.running.map(\.borrower)) == [Self.peer(1), Self.peer(3)])
        // Its deadline passes while it runs: nothing happens.
        #expect(desk.tick(3, now: .seconds(61)) == [])
    }

    /// Friends first, then the lender's trust in the borrower, whatever the arrival order.
    @Test func friendsThenTrustGoFirst() {
        var desk = Self.desk(friends: [Self.peer(9)])
        for id in 1...2 {
            _ = desk.arrive(UInt64(id), borrower: Self.peer(UInt8(id)), digest: Bytes32(), demand: Self.oneCore,
                            conditions: Self.idle, now: .zero) { 0 }
        }
        let trusts: [UInt8: Double] = [3: 0.1, 4: 0.8, 9: -0.5]
        for n: UInt8 in [3, 4, 9] {
            _ = desk.arrive(UInt64(n), borrower: Self.peer(n), digest: Bytes32(), demand: Self.oneCore, conditions: Self.idle,
                            now: .seconds(1)) { trusts[n] ?? 0 }
        }
        #expect(desk.finished(1, now: .seconds(2)) == [.start(9)])
        #expect(desk.finished(2, now: .seconds(3)) == [.start(4)])
        #expect(desk.finished(9, now: .seconds(4)) == [.start(3)])
    }

    /// The policy refuses before anything is held, and the borrower's trust is never asked.
    @Test func policyAndPauseRefuseWithTheReason() {
        var desk = Self.desk(denied: [Self.peer(6)])
        var asked = false
        let denied = desk.arrive(1, borrower: Self.peer(6), digest: Bytes32(), demand: Self.oneCore, conditions: Self.idle,
                                 now: .zero) { asked = true; return 0 }
        #expect(denied.first.map { if case .refuse(1, let refusal) = $0 { refusal.code == .denied } else { false } } == true)
        var paused = Self.idle
        paused.paused = true
        let refused = desk.arrive(2, borrower: Self.peer(2), digest: Bytes32(), demand: Self.oneCore, conditions: paused,
                                  now: .zero) { asked = true; return 0 }
        #expect(refused.first.map { if case .refuse(2, let refusal) = $0 { refusal.code == .unavailable } else { false } } == true)
        let big = JobDemand(cores: 3, memoryBytes: 1, coreSeconds: 1, wallSeconds: 1)
        let tooLarge = desk.arrive(3, borrower: Self.peer(3), digest: Bytes32(), demand: big, conditions: Self.idle, now: .zero) {
            asked = true
            return 0
        }
        #expect(tooLarge.first.map { if case .refuse(3, let refusal) = $0 { refusal.code == .tooLarge } else { false } } == true)
        #expect(!asked)
        #expect(desk.load.running == 0 && desk.waitingCount == 0)
        // A refused id is forgotten: it may arrive again.
        #expect(desk.arrive(2, borrower: Self.peer(2), digest: Bytes32(), demand: Self.oneCore, conditions: Self.idle,
                            now: .zero) { 0 } == [.start(2)])
    }

    /// A job still waiting at its deadline is refused `busy`; an early wake changes nothing.
    @Test func aDeadlineRefusesBusy() {
        var desk = Self.desk()
        _ = desk.arrive(1, borrower: Self.peer(1), digest: Bytes32(), demand: Self.oneCore, conditions: Self.idle, now: .zero) { 0 }
        _ = desk.arrive(2, borrower: Self.peer(2), digest: Bytes32(), demand: Self.oneCore, conditions: Self.idle, now: .zero) { 0 }
        _ = desk.arrive(3, borrower: Self.peer(3), digest: Bytes32(), demand: Self.oneCore, conditions: Self.idle, now: .zero) { 0 }
        #expect(desk.tick(3, now: .seconds(59)) == [])
        let late = desk.tick(3, now: .seconds(60))
        #expect(late.first.map { if case .refuse(3, let refusal) = $0 { refusal.code == .busy } else { false } } == true)
        #expect(desk.waitingCount == 0)
        // Its slot is not taken by the refused job when one frees up.
        #expect(desk.finished(1, now: .seconds(61)) == [])
    }

    /// A native task passes the policy, its inputs are fetched, then it enters the line; a task
    /// whose inputs never come, or a waiting job whose borrower leaves, holds nothing after.
    @Test func inputsComeBeforeTheLineAndAbandonFreesAll() {
        var desk = Self.desk()
        var asked = 0
        #expect(desk.arrive(1, borrower: Self.peer(1), digest: Bytes32(), demand: Self.oneCore, needsInputs: true,
                            conditions: Self.idle, now: .zero) { asked += 1; return 0 } == [.fetchInputs(1)])
        #expect(desk.load.running == 0 && asked == 0)
        #expect(desk.inputsArrived(1, now: .seconds(3)) { asked += 1; return 0 } == [.start(1)])
        #expect(asked == 1)
        #expect(desk.arrive(2, borrower: Self.peer(2), digest: Bytes32(), demand: Self.oneCore, needsInputs: true,
                            conditions: Self.idle, now: .zero) { 0 } == [.fetchInputs(2)])
        #expect(desk.abandon(2, now: .seconds(4)) == [])
        #expect(desk.inputsArrived(2, now: .seconds(5)) { 0 } == [])
        _ = desk.arrive(3, borrower: Self.peer(3), digest: Bytes32(), demand: Self.oneCore, conditions: Self.idle, now: .zero) { 0 }
        _ = desk.arrive(4, borrower: Self.peer(4), digest: Bytes32(), demand: Self.oneCore, conditions: Self.idle, now: .zero) { 0 }
        #expect(desk.waitingCount == 1)
        #expect(desk.abandon(4, now: .seconds(6)) == [])
        #expect(desk.waitingCount == 0)
        #expect(desk.finished(1, now: .seconds(7)) == [])
        #expect(desk.running.map(\.borrower) == [Self.peer(3)])
    }
}
