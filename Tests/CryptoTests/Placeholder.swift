import Testing

@Test func placeholder_CryptoTests() { #expect(1 + 1 == 2) }
