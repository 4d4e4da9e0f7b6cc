import Foundation
import Simulator
import Testing

/// Scenario files are validated strictly and every error names its key.
@Suite struct ScenarioParsingTests {
    static let valid = """
        name = "t"
        seed = 3
        [platform]
        nodes = 100
        [platform.latency]
        model = "constant"
        ms = 20
        [platform.churn]
        session = { distribution = "weibull", shape = 0.5, scale_s = 600 }
        downtime = { distribution = "exponential", mean_s = 300 }
        [deployment]
        duration_s = 60
        [expected]
        lookup_success_rate = { min = 0.9 }
        """

    @Test func parsesAValidScenario() throws {
        let scenario = try Scenario(toml: Self.valid)
        #expect(scenario.seed == 3)
        #expect(scenario.platform.nodes == 100)
        #expect(scenario.platform.latency == .constant(milliseconds: 20))
        #expect(scenario.platform.churn?.session == .weibull(shape: 0.5, scale: 600))
        #expect(scenario.deployment.duration == 60)
        #expect(scenario.expected == [.init(metric: "lookup_success_rate", min: 0.9)])
    }

    static let broken: [(find: String, replace: String, key: String)] = [
        ("nodes = 100", "nodes = 1", "platform.nodes"),
        ("nodes = 100", "nodes = \"many\"", "platform.nodes"),
        ("nodes = 100", "nodes = 100\nnodez = 3", "platform.nodez"),
        ("ms = 20", "ms = -1", "platform.latency.ms"),
        ("\"constant\"", "\"ring\"", "platform.latency.model"),
        ("shape = 0.5", "shape = 0", "platform.churn.session.shape"),
        ("mean_s = 300", "mean = 300", "platform.churn.downtime.mean_s"),
        ("duration_s = 60", "duration_s = true", "deployment.duration_s"),
        ("lookup_success_rate", "lookup_sucess_rate", "expected.lookup_sucess_rate"),
        ("seed = 3", "seed = 3\ncolour = 1", "colour"),
        ("seed = 3", "", "seed"),
    ]

    @Test(arguments: broken.indices)
    func errorsNameTheKey(_ index: Int) {
        let (find, replace, key) = Self.broken[index]
        do {
            _ = try Scenario(toml: Self.valid.replacingOccurrences(of: find, with: replace))
            Issue.record("expected an error naming \(key)")
        } catch {
            #expect(error.key == key, "\(error)")
            #expect(error.description.hasPrefix(key + ":"))
        }
    }

    @Test func badTOMLIsReported() {
        #expect(throws: ScenarioError.self) { try Scenario(toml: "name = ") }
    }
}
