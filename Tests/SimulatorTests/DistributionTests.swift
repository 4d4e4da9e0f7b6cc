import Foundation
import Simulator
import Testing

/// Churn samples match their distributions: the sample mean and median of 200,000 seeded draws
/// within a few percent of the closed forms (spec/0010 §4).
@Suite struct DistributionTests {
    static let cases: [Distribution] = [
        .exponential(mean: 600),
        .weibull(shape: 0.5, scale: 1800),
        .weibull(shape: 2, scale: 100),
        .pareto(shape: 2.5, scale: 300),
        .pareto(shape: 1.5, scale: 300),
    ]

    @Test(arguments: cases)
    func samplesMatchMeanAndMedian(_ distribution: Distribution) {
        var random = SimulationRandom(seed: 2006)
        var samples = (0..<200_000).map { _ in distribution.sample(using: &random) }
        samples.sort()
        let median = samples[samples.count / 2]
        let mean = samples.reduce(0, +) / Double(samples.count)
        #expect(abs(median / distribution.median - 1) < 0.02, "median \(median) vs \(distribution.median)")
        // Heavy tails converge slowly: Pareto α = 1.5 has infinite variance.
        let meanTolerance = if case .pareto(1.5, _) = distribution { 0.08 } else { 0.03 }
        #expect(abs(mean / distribution.mean - 1) < meanTolerance, "mean \(mean) vs \(distribution.mean)")
        #expect(samples.first! > 0)
    }

    @Test func closedFormsAreRight() {
        #expect(abs(Distribution.weibull(shape: 0.5, scale: 1800).mean - 3600) < 1e-6)
        #expect(abs(Distribution.weibull(shape: 0.5, scale: 1800).median - 1800 * log(2) * log(2)) < 1e-6)
        #expect(Distribution.pareto(shape: 1, scale: 10).mean == .infinity)
        #expect(abs(Distribution.pareto(shape: 1.5, scale: 300).median - 300 * pow(2, 1 / 1.5)) < 1e-9)
    }
}
