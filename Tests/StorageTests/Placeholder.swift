import Testing

@Test func placeholder_StorageTests() { #expect(1 + 1 == 2) }
