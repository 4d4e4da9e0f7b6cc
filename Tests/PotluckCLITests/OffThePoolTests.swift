import Testing

extension CLIProcessTests {
    /// The CLI suites wait for processes on threads of their own, never on the cooperative pool
    /// the other targets' async tests share (`OffThePool`).
    @Suite("CLI tests run off the cooperative pool")
    struct OffThePoolTests {
        @Test func aBlockingTestRunsOnItsOwnThread() {
            #expect(ThreadPerJobExecutor.isCurrent)
        }

        @Test func anAsyncTestComesBackToItsOwnThreadAfterEveryWait() async throws {
            #expect(ThreadPerJobExecutor.isCurrent)
            await Task.yield()  // a suspension: the test resumes as a new job
            #expect(ThreadPerJobExecutor.isCurrent)
            async let child = ThreadPerJobExecutor.isCurrent
            #expect(await child, "a child task inherits the preference")
        }
    }
}
