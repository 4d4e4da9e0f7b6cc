import Testing

@Test func placeholder_PotluckCLITests() { #expect(1 + 1 == 2) }
