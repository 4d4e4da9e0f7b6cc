// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Foundation

/// A positive random duration, in seconds: how long a peer stays online (its *session*) or
/// offline between sessions (Stutzbach & Rejaie, "Understanding churn in peer-to-peer
/// networks", IMC 2006, found both heavy-tailed: Weibull or log-normal fits, not exponential).
///
/// Each is sampled by inverting its CDF at one uniform draw `u` in [0, 1) (`spec/0010` §4).
public enum Distribution: Sendable, Hashable, CustomStringConvertible {
    /// Always the same value.
    case fixed(Double)
    /// Exponential with this mean: `-mean · ln(1 − u)`. Memoryless, the classic (and
    /// optimistic) churn model.
    case exponential(mean: Double)
    /// Weibull with shape k and scale λ: `λ · (−ln(1 − u))^(1/k)`. k < 1 is heavy-tailed
    /// (most sessions short, a few very long); Stutzbach & Rejaie fit k ≈ 0.3–0.6.
    case weibull(shape: Double, scale: Double)
    /// Pareto (type I) with shape α and scale xₘ (the minimum): `xₘ / (1 − u)^(1/α)`.
    /// The mean is finite only for α > 1.
    case pareto(shape: Double, scale: Double)

    /// One sample, drawn from `random`.
    public func sample(using random: inout SimulationRandom) -> Double {
        switch self {
        case .fixed(let value): return value
        case .exponential(let mean): return -mean * log1p(-random.unit())
        case .weibull(let shape, let scale): return scale * pow(-log1p(-random.unit()), 1 / shape)
        case .pareto(let shape, let scale): return scale / pow(1 - random.unit(), 1 / shape)
        }
    }

    /// The distribution's mean (infinite for a Pareto with α ≤ 1).
    public var mean: Double {
        switch self {
        case .fixed(let value): return value
        case .exponential(let mean): return mean
        case .weibull(let shape, let scale): return scale * tgamma(1 + 1 / shape)
        case .pareto(let shape, let scale): return shape > 1 ? shape * scale / (shape - 1) : .infinity
        }
    }

    /// The distribution's median.
    public var median: Double {
        switch self {
        case .fixed(let value): return value
        case .exponential(let mean): return mean * M_LN2
        case .weibull(let shape, let scale): return scale * pow(M_LN2, 1 / shape)
        case .pareto(let shape, let scale): return scale * pow(2, 1 / shape)
        }
    }

    public var description: String {
        switch self {
        case .fixed(let value): "fixed(\(value) s)"
        case .exponential(let mean): "exponential(mean \(mean) s)"
        case .weibull(let shape, let scale): "weibull(shape \(shape), scale \(scale) s)"
        case .pareto(let shape, let scale): "pareto(shape \(shape), scale \(scale) s)"
        }
    }
}
