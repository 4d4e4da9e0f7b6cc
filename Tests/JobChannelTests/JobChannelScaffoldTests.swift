import Testing
@testable import JobChannel

@Test func moduleLinks() { #expect("\(JobChannelProtocol.self)".isEmpty == false) }
