import PotluckCrypto
import Records
import Testing
@testable import Jobs

@Suite struct LenderPolicyTests {
    let stranger = SigningKey.generate().publicKey, friend = SigningKey.generate().publicKey
    let idle = MachineState(idle: true, detail: "load 0.10 on 2 cores")
    let small = JobDemand(cores: 1, memoryBytes: 64 << 20, coreSeconds: 10, wallSeconds: 30)

    func policy(_ edit: (inout LenderPolicy) -> Void = { _ in }) -> LenderPolicy {
        var policy = LenderPolicy(cores: 2, memoryBytes: 1 << 30, friends: [friend], maxJobs: 1)
        edit(&policy)
        return policy
    }

    @Test func aJobWithinTheOfferPasses() {
        #expect(policy().refusal(of: small, from: stranger, minuteOfDay: 600, machine: idle) == nil)
    }

    @Test func eachRuleRefusesWithItsReason() {
        let busyMachine = MachineState(idle: false, detail: "load 1.90 on 2 cores")
        let cases: [(LenderPolicy, JobDemand, MachineState, JobRefusal.Code, String)] = [
            (policy { $0.denied = [stranger] }, small, idle, .denied, "does not lend to"),
            (policy { $0.allowed = [friend] }, small, idle, .notAllowed, "allow list"),
            (policy(), JobDemand(cores: 3, memoryBytes: 1, coreSeconds: 1, wallSeconds: 1), idle, .tooLarge, "3 core(s)"),
            (policy(), JobDemand(cores: 1, memoryBytes: 2 << 30, coreSeconds: 1, wallSeconds: 1), idle, .tooLarge, "2048 MiB"),
            (policy { $0.maxWallSeconds = 10 }, small, idle, .tooLarge, "at most 10 s"),
            (policy { $0.windows = [TimeWindow("22:00-06:00")!] }, small, idle, .outsideWindow, "22:00-06:00"),
            (policy { $0.idleOnly = true }, small, busyMachine, .notIdle, "load 1.90"),
            (policy { $0.runtimes = ["wasm32-wasi"] }, JobDemand(runtime: "x86_64-linux", cores: 1, memoryBytes: 1, coreSeconds: 1, wallSeconds: 1), idle, .runtime, "not x86_64-linux"),
        ]
        for (policy, demand, machine, code, text) in cases {
            let refusal = policy.refusal(of: demand, from: stranger, minuteOfDay: 600, machine: machine)
            #expect(refusal?.code == code)
            #expect(refusal?.reason.contains(text) == true, "\(String(describing: refusal))")
        }
    }

    @Test func windowsWrapPastMidnight() {
        let night = policy { $0.windows = [TimeWindow("22:00-06:00")!] }
        #expect(night.refusal(of: small, from: stranger, minuteOfDay: 23 * 60, machine: idle) == nil)
        #expect(night.refusal(of: small, from: stranger, minuteOfDay: 5 * 60 + 59, machine: idle) == nil)
        #expect(night.refusal(of: small, from: stranger, minuteOfDay: 6 * 60, machine: idle)?.code == .outsideWindow)
    }

    @Test func aFriendIsServedBeforeAStrangerWhoCameFirst() {
        var line = JobLine(policy: policy())
        let (first, firstAdmission) = line.admit(small, priority: .init(friend: false, trust: 0))
        #expect(firstAdmission == .start)
        let (stranger, strangerAdmission) = line.admit(small, priority: .init(friend: false, trust: 5))
        #expect(strangerAdmission == .wait(position: 1))
        let (friendTicket, friendAdmission) = line.admit(small, priority: .init(friend: true, trust: 0))
        #expect(friendAdmission == .wait(position: 1))
        #expect(line.position(of: stranger) == 2)
        #expect(line.release(first) == [friendTicket])
        #expect(line.release(friendTicket) == [stranger])
    }

    @Test func moreTrustedStrangersGoFirstAndTiesKeepArrivalOrder() {
        var line = JobLine(policy: policy())
        let (running, _) = line.admit(small, priority: .init(friend: false, trust: 0))
        let (a, _) = line.admit(small, priority: .init(friend: false, trust: 1))
        let (b, _) = line.admit(small, priority: .init(friend: false, trust: 3))
        let (c, _) = line.admit(small, priority: .init(friend: false, trust: 1))
        #expect(line.release(running) == [b])
        #expect(line.release(b) == [a])
        #expect(line.release(a) == [c])
        #expect(line.waitingCount == 0)
    }

    @Test func capacityCountsCoresAndMemoryAndAbandonedTicketsLeaveTheLine() {
        var line = JobLine(policy: policy { $0.maxJobs = 4 })
        let two = JobDemand(cores: 2, memoryBytes: 1, coreSeconds: 1, wallSeconds: 1)
        let (big, bigAdmission) = line.admit(two, priority: .init(friend: false, trust: 0))
        #expect(bigAdmission == .start)
        let (waiting, admission) = line.admit(small, priority: .init(friend: false, trust: 0))
        #expect(admission == .wait(position: 1))
        #expect(line.release(waiting).isEmpty)
        #expect(line.waitingCount == 0)
        #expect(line.release(big).isEmpty)
        #expect(line.load == LenderLoad())
    }
}
