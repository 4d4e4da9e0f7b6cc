import Simulator
import Testing

@Test func simulatorModuleLinks() { #expect(SimulatorInfo.version.split(separator: ".").count == 3) }
