// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

import PotluckCrypto

/// A message of the receipt exchange (`spec/0011-records.md` §6).
public enum ExchangeMessage: Sendable, Hashable {
    /// Provider → consumer: the receipt, signed by the provider.
    case propose(Receipt)
    /// Consumer → provider: the same receipt, signed by both.
    case countersign(Receipt)
    /// Consumer → provider: the proposal with this id is refused, and why.
    case refuse(ReceiptID, ExchangeRefusal)
}

/// Why a proposal was refused (§6.2): a stable code and a sentence saying what to change.
public struct ExchangeRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable reason, kebab case.
    public struct Code: RawRepresentable, Sendable, Hashable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The receipt names another provider or consumer than this exchange's.
        public static let wrongParties = Code(rawValue: "wrong-parties")
        /// The receipt is malformed or its provider signature does not verify.
        public static let badSignature = Code(rawValue: "bad-signature")
        /// The job digest is not the job the consumer sent.
        public static let wrongJob = Code(rawValue: "wrong-job")
        /// Start or end differs from what the consumer observed by more than the tolerance.
        public static let timesDisagree = Code(rawValue: "times-disagree")
        /// Core-milliseconds or memory byte-seconds exceed the observed figures plus the tolerance.
        public static let usageTooHigh = Code(rawValue: "usage-too-high")
        /// The consumer already signed a receipt of the pair with this sequence, or holds a
        /// proposal with it (`spec/0011-records.md` §6.2 rule 6).
        public static let sequenceUsed = Code(rawValue: "sequence-used")
        /// The countersigned receipt sent back is not the proposal, or a signature fails.
        public static let badCountersignature = Code(rawValue: "bad-countersignature")
        /// The job ran on several providers and this one's result lost the vote, or no result
        /// won one (`spec/0019-native-jobs.md` §6.2): the work is not vouched for.
        public static let outvoted = Code(rawValue: "outvoted")
    }

    /// The reason.
    public let code: Code
    /// What was wrong and what to do.
    public let message: String

    /// A refusal.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

/// How an exchange ended.
public enum ExchangeOutcome: Sendable, Hashable {
    /// Both signed: count this receipt.
    case completed(Receipt)
    /// One side refused; the proposal stays pending (never counted).
    case refused(ExchangeRefusal)
    /// No answer before the deadline.
    case timedOut
}

/// What a state machine asks its driver to do.
public enum ExchangeOutput: Sendable, Hashable {
    /// Send this message to the other party.
    case send(ExchangeMessage)
    /// The exchange is over.
    case finished(ExchangeOutcome)
}

/// How far the provider's figures may stray from what the consumer observed (§6.2).
public struct ExchangeTolerance: Sendable, Hashable {
    /// The most start or end may differ, in milliseconds (clocks and network delays).
    public var timeSkewMilliseconds: Int64
    /// How much usage may exceed the observation, in thousandths (100 = 10%); less is always fine.
    public var usagePermille: Int64

    /// A tolerance; the defaults are 5 seconds and 10%.
    public init(timeSkewMilliseconds: Int64 = 5_000, usagePermille: Int64 = 100) {
        self.timeSkewMilliseconds = timeSkewMilliseconds
        self.usagePermille = usagePermille
    }
}

/// What the consumer saw of the job: the figures it will countersign, within the tolerance.
public struct ExchangeObservation: Sendable, Hashable {
    /// The provider the job was sent to.
    public var provider: PublicKey
    /// The job the consumer sent.
    public var jobDigest: Bytes32
    /// When the consumer saw the work start and end, Unix milliseconds.
    public var start: Int64
    public var end: Int64
    /// The usage the consumer expects (from its request's limits or the result's report).
    public var coreMilliseconds: Int64
    public var memoryByteSeconds: Int64
    /// The bytes the consumer counted through a relay (`spec/0021` §5.5); 0 for a job, so a
    /// job's receipt that claims relayed bytes is refused.
    public var relayedBytes: Int64

    /// An observation.
    public init(provider: PublicKey, jobDigest: Bytes32, start: Int64, end: Int64,
                coreMilliseconds: Int64, memoryByteSeconds: Int64, relayedBytes: Int64 = 0) {
        self.relayedBytes = relayedBytes
        self.provider = provider
        self.jobDigest = jobDigest
        self.start = start
        self.end = end
        self.coreMilliseconds = coreMilliseconds
        self.memoryByteSeconds = memoryByteSeconds
    }
}
