import Testing
@testable import Sandbox

@Test func moduleLinks() { #expect("\(Sandbox.self)".isEmpty == false) }
