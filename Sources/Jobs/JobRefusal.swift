// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// Why a lender refused a job (`spec/0017-jobs.md` §3): a stable code and a sentence, shown to
/// the borrower as is. Nothing ran when a job is refused.
public struct JobRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: RawRepresentable, Sendable, Hashable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The borrower is on the lender's deny list.
        public static let denied = Code(rawValue: "denied")
        /// The lender lends only to its allow list, and the borrower is not on it.
        public static let notAllowed = Code(rawValue: "not-allowed")
        /// The lender lends at other times of day.
        public static let outsideWindow = Code(rawValue: "outside-window")
        /// The lender lends only while its machine is idle, and it is not.
        public static let notIdle = Code(rawValue: "not-idle")
        /// The job asks for more cores, memory or time than the offer lends.
        public static let tooLarge = Code(rawValue: "too-large")
        /// The lender does not run this kind of job.
        public static let runtime = Code(rawValue: "runtime")
        /// The lender does not lend the native tool the task runs.
        public static let tool = Code(rawValue: "tool")
        /// Every slot stayed taken for as long as the borrower may wait.
        public static let busy = Code(rawValue: "busy")
        /// The job could not be read (bad encoding, bad names, limits out of range).
        public static let badJob = Code(rawValue: "bad-job")
        /// The lender cannot lend now (its policy cannot be read, it is stopping, or its owner paused lending).
        public static let unavailable = Code(rawValue: "unavailable")

        /// Whether the code says the lender cannot lend now, whatever the job (`not-idle`,
        /// `unavailable`, `outside-window`): no failure of the job, which goes to another lender
        /// (`spec/0017` §3.4). The node's batches and the lending simulator both ask this.
        public var meansCannotLendNow: Bool { self == .notIdle || self == .unavailable || self == .outsideWindow }
    }

    public let code: Code
    public let reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(code.rawValue): \(reason)" }

    /// How long a borrower sends nothing more to a lender that refused `not-idle` (its owner
    /// came back to the machine): ten minutes. The offer cannot say when an owner is at the
    /// keyboard, so without this memory every borrower would keep asking a friend's busy
    /// laptop. Node and simulator both use it (`spec/0017-jobs.md` §3.3).
    public static let ownerBackMemory: Duration = .seconds(600)
}
