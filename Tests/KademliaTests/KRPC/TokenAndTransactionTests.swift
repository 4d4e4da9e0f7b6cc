import PotluckCrypto
import Kademlia
import Testing

@Suite("KRPC write tokens and transaction ids")
struct TokenAndTransactionTests {
    private let alice = Endpoint.Address.v4(0xC000_0201)  // 192.0.2.1
    private let bob = Endpoint.Address.v6(0x2001_0DB8_0000_0000, 1)  // 2001:db8::1

    @Test func tokenIsSHA1OfAddressAndSecretTruncated() {
        let issuer = TokenIssuer(secret: Array("secret".utf8))
        #expect(issuer.token(for: alice) == Array(SHA1.hash([192, 0, 2, 1] + Array("secret".utf8)).prefix(8)))
        #expect(issuer.token(for: bob).count == TokenIssuer.tokenLength)
        #expect(issuer.token(for: alice) != issuer.token(for: bob))
    }

    @Test func tokensLiveForTwoSecrets() {
        var issuer = TokenIssuer(secret: [1, 1, 1])
        let first = issuer.token(for: alice)
        #expect(issuer.isValid(first, for: alice))
        #expect(!issuer.isValid(first, for: bob))
        issuer.rotate(newSecret: [2, 2, 2])  // 5 minutes later
        #expect(issuer.isValid(first, for: alice))
        let second = issuer.token(for: alice)
        #expect(second != first)
        issuer.rotate(newSecret: [3, 3, 3])  // 10 minutes later
        #expect(!issuer.isValid(first, for: alice))
        #expect(issuer.isValid(second, for: alice))
    }

    @Test func malformedTokensAreInvalid() {
        let issuer = TokenIssuer(secret: [7])
        let token = issuer.token(for: alice)
        #expect(!issuer.isValid([], for: alice))
        #expect(!issuer.isValid(Array(token.prefix(7)), for: alice))
        #expect(!issuer.isValid(token + [0], for: alice))
        var flipped = token
        flipped[7] ^= 1
        #expect(!issuer.isValid(flipped, for: alice))
    }

    @Test func transactionIDsAreTwoBigEndianBytes() {
        #expect(KRPCTransactionID(0x1234).bytes == [0x12, 0x34])
        #expect(KRPCTransactionID(bytes: [0xAB, 0xCD]) == KRPCTransactionID(0xABCD))
        #expect(KRPCTransactionID(bytes: [1]) == nil)
        #expect(KRPCTransactionID(bytes: [1, 2, 3]) == nil)
        #expect(KRPCTransactionID(bytes: Array("aa".utf8))?.value == 0x6161)
    }

    @Test func generatorWrapsAndSkipsOutstanding() {
        var generator = KRPCTransactionIDGenerator(start: 0xFFFE)
        #expect(generator.issue() == KRPCTransactionID(0xFFFE))
        #expect(generator.issue() == KRPCTransactionID(0xFFFF))
        #expect(generator.issue() == KRPCTransactionID(0))
        let busy: Set<UInt16> = [1, 2, 3]
        #expect(generator.issue(avoiding: { busy.contains($0.value) }) == KRPCTransactionID(4))
        #expect(generator.issue(avoiding: { _ in true }) == nil)
    }
}
