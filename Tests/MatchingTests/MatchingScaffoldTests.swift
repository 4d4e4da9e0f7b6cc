import Testing
@testable import Matching

@Test func moduleLinks() { #expect("\(Matching.self)".isEmpty == false) }
