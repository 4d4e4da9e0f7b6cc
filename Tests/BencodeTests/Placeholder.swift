import Testing

@Test func placeholder_BencodeTests() { #expect(1 + 1 == 2) }
