import Foundation
import Simulator
import Testing

/// The codec switch skips only the KRPC encoder and decoder: a scenario gives the same results
/// with and without it (issue 4).
@Suite("Codec switch")
struct CodecSwitchTests {
    @Test func aScenarioGivesTheSameResultsWithAndWithoutTheCodec() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("simulations/small.toml").path
        var scenario = try Scenario(contentsOf: path)
        scenario.platform.nodes = 120
        scenario.deployment.duration = 120
        scenario.codec = true
        let encoded = Simulation(scenario: scenario).run()
        scenario.codec = false
        let direct = Simulation(scenario: scenario).run()
        #expect(encoded.lookupsCompleted > 50)
        #expect(direct.lookupsCompleted == encoded.lookupsCompleted)
        #expect(direct.lookupSuccessRate == encoded.lookupSuccessRate)
        #expect(direct.hopsHistogram == encoded.hopsHistogram)
        #expect(direct.latencyMsP50 == encoded.latencyMsP50 && direct.latencyMsP99 == encoded.latencyMsP99)
        #expect(direct.datagramsSent == encoded.datagramsSent && direct.datagramsDelivered == encoded.datagramsDelivered)
        #expect(direct.messagesPerNodePerSecond == encoded.messagesPerNodePerSecond)
        #expect(direct.traceHash != encoded.traceHash)  // byte counts are 0 without the codec
    }
}
