// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// The few elementary functions the trust engine needs, written with `+ − × ÷` and
/// `squareRoot()` only (`spec/0012-trust.md` §6): the standard library has no `atan` or `exp2`
/// without Foundation, and results computed this way are the same on every platform, so the
/// vectors hold to the last bit.
public enum TrustMath {
    /// π, to double precision.
    public static let pi = 3.141592653589793

    /// 2^y, to within a few ulps. Fading only needs y ≤ 0; any finite y works.
    public static func exp2(_ y: Double) -> Double {
        guard y.isFinite else { return y > 0 ? .infinity : 0 }
        if y < -1100 { return 0 }
        if y > 1100 { return .infinity }
        let whole = y.rounded(.down)
        let z = (y - whole) * 0.6931471805599453  // (fraction of y) × ln 2, in [0, ln 2)
        var term = 1.0, sum = 1.0
        for k in 1...22 {
            term *= z / Double(k)
            sum += term
        }
        return scaled(sum, by: Int(whole))
    }

    /// x × 2^n, exact unless the result leaves the range of `Double`.
    private static func scaled(_ x: Double, by n: Int) -> Double {
        var value = x, exponent = n
        while exponent < -1000 { value *= Double(sign: .plus, exponent: -1000, significand: 1); exponent += 1000 }
        while exponent > 1000 { value *= Double(sign: .plus, exponent: 1000, significand: 1); exponent -= 1000 }
        return value * Double(sign: .plus, exponent: exponent, significand: 1)
    }

    /// arctan(x), to within a few ulps: reduced to |x| ≤ 1 by arctan(x) = π/2 − arctan(1/x),
    /// halved twice by arctan(x) = 2 arctan(x / (1 + √(1 + x²))), then summed as a Taylor series.
    public static func atan(_ x: Double) -> Double {
        if x.isNaN { return x }
        if x < 0 { return -atan(-x) }
        if x > 1 { return x.isInfinite ? pi / 2 : pi / 2 - atan(1 / x) }
        var y = x, factor = 1.0
        for _ in 0..<2 {
            y = y / (1 + (1 + y * y).squareRoot())
            factor *= 2
        }
        // |y| ≤ tan(π/16) ≈ 0.199: 14 terms reach below 1e-20.
        let y2 = y * y
        var power = y, sum = 0.0
        for k in 0..<14 {
            let term = power / Double(2 * k + 1)
            sum += k % 2 == 0 ? term : -term
            power *= y2
        }
        return factor * sum
    }

    /// The bounded score of `spec/0012-trust.md` §3: arctan(net / unit) / (π/2), in (−1, 1).
    public static func boundedScore(_ net: Double, unit: Double) -> Double {
        atan(net / unit) / (pi / 2)
    }

    /// The fading factor 2^(−age / halfLife) for an age in seconds (a negative age counts as 0).
    public static func fade(ageSeconds: Double, halfLifeSeconds: Double) -> Double {
        exp2(-max(0, ageSeconds) / halfLifeSeconds)
    }
}
