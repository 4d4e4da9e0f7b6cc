// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Kademlia

/// Callbacks a driver of ``Simulation`` may set to watch a run. None draws randomness or
/// changes the run: with or without hooks, the trace hash is the same.
public struct SimulationHooks {
    /// Called about every 2¹⁶ events with the fraction of virtual time done (0…1).
    public var progress: ((Double) -> Void)?
    /// Called for every datagram delivered to an online host: (time ns, from host, to host, bytes).
    public var delivered: ((UInt64, Int, Int, [UInt8]) -> Void)?
    /// Called when a measured lookup completes.
    public var lookupCompleted: ((LookupRecord) -> Void)?

    public init() {}
}

/// One measured lookup, as the metrics saw it.
public struct LookupRecord: Sendable, Hashable {
    /// Virtual time it started and ended, in nanoseconds.
    public var started: UInt64
    public var ended: UInt64
    /// The querying host.
    public var host: Int
    /// Whether the lookup returned exactly the k closest eligible online hosts.
    public var exact: Bool
    /// The fraction of the true k closest it returned.
    public var recall: Double
    /// `LookupResult.hops` and `LookupResult.queried`.
    public var hops: Int
    public var queried: Int
    /// Whether the node reported a failure instead of a result.
    public var failed: Bool
}
