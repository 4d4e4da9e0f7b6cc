// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import SeededRandom

/// The simulator's one source of randomness: xoshiro256** (Blackman & Vigna, "Scrambled linear
/// pseudorandom number generators", ACM TOMS 2021), its 256-bit state filled from the run's
/// seed by SplitMix64 (Steele, Lea & Flood, OOPSLA 2014), as the authors recommend.
///
/// Every choice of a run — node ids, host placement, latencies, jitter, loss, churn times,
/// workload arrivals — draws from one instance, in event order, so one seed reproduces a run
/// bit for bit. The derived quantities below are defined exactly (`spec/0010-simulator.md` §2)
/// rather than through the standard library's `random(in:)`, whose algorithm may change.
public struct SimulationRandom: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// A generator whose state is four successive SplitMix64 outputs of `seed`.
    public init(seed: UInt64) {
        var mixer = seed
        s0 = Self.splitMix64(&mixer)
        s1 = Self.splitMix64(&mixer)
        s2 = Self.splitMix64(&mixer)
        s3 = Self.splitMix64(&mixer)
    }

    /// One SplitMix64 step: advances `state` by the golden gamma and returns the mixed value.
    @inlinable
    public static func splitMix64(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The next 64 bits (xoshiro256**).
    public mutating func next() -> UInt64 {
        let result = (s1 &* 5).rotatedLeft(by: 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3.rotatedLeft(by: 45)
        return result
    }

    /// A double uniform in [0, 1): the top 53 bits of ``next()`` times 2⁻⁵³.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// An integer in `0..<bound` by the multiply-high method (Lemire 2019, without the rejection
    /// step: the bias is below `bound`/2⁶⁴, far under any simulated effect).
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        return Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// True with probability `p`.
    public mutating func chance(_ p: Double) -> Bool { p > 0 && unit() < p }
}

extension UInt64 {
    @inlinable
    func rotatedLeft(by count: UInt64) -> UInt64 { (self << count) | (self >> (64 - count)) }
}
