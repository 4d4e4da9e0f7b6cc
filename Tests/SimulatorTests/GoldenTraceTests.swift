// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Foundation
import Simulator
import Testing

/// Every shipped scenario, shrunk to a size a debug build runs in seconds, pins its trace hash:
/// any change in what the simulator does — a message, a timer, a draw, a lender's decision —
/// changes a hash here and shows in review. When behaviour changes on purpose, update the pin
/// and say why in the commit.
@Suite struct GoldenTraceTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("simulations").path

    /// Each scenario of `simulations/` and the hash of its shrunk run.
    static let pins: [String: String] = [
        "churn-10k": "3bc003704adcab86",
        "lending-fifo": "247b98308fd2c1cc",
        "lending-grant": "a6f389b0e85d8150",
        "lending-home": "c0946e5293537f9a",
        "lending-malicious": "699282c85ed9979e",
        "lending-replicas": "5b96fb919f233403",
        "lending-scale": "c4544a23c41fc631",
        "lending-sybil": "087ea0249206507d",
        "lending-trust": "4811c88151e414a9",
        "million": "a562b62c4c7a9498",
        "simgrid-kademlia": "c9f28ec8c8b50e73",
        "small": "a10a97656f96c077",
    ]

    /// `name` at 150 peers and at most a few simulated minutes (DHT) or hours (lending).
    static func shrunk(_ name: String) throws -> Scenario {
        var scenario = try Scenario(contentsOf: "\(directory)/\(name).toml")
        scenario.platform.nodes = 150
        if scenario.lending != nil {
            scenario.deployment.warmup = min(scenario.deployment.warmup, 1800)
            scenario.deployment.duration = min(scenario.deployment.duration, 1800)
            scenario.deployment.drain = min(scenario.deployment.drain, 600)
        } else {
            scenario.deployment.joinOver = min(scenario.deployment.joinOver, 20)
            scenario.deployment.warmup = min(scenario.deployment.warmup, 30)
            scenario.deployment.duration = min(scenario.deployment.duration, 60)
            scenario.deployment.drain = min(scenario.deployment.drain, 10)
        }
        return scenario
    }

    static func traceHash(_ scenario: Scenario) -> String {
        scenario.lending != nil ? LendingSimulation(scenario: scenario).run().traceHash : Simulation(scenario: scenario).run().traceHash
    }

    @Test func everyShippedScenarioIsPinned() throws {
        let shipped = try FileManager.default.contentsOfDirectory(atPath: Self.directory).filter { $0.hasSuffix(".toml") }
            .map { String($0.dropLast(5)) }
        #expect(Set(shipped) == Set(Self.pins.keys))
    }

    @Test(arguments: pins.keys.sorted())
    func traceHashIsPinned(_ name: String) throws {
        let hash = Self.traceHash(try Self.shrunk(name))
        #expect(hash == Self.pins[name], "\(name): trace hash \(hash)")
    }
}
