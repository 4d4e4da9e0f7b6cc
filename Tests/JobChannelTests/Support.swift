import PotluckCrypto
import Foundation
@testable import JobChannel

/// The package root, found from this file's path.
let packageRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func hexBytes(_ text: String) -> [UInt8] { Hex.decode(text) ?? [] }
func hex(_ bytes: [UInt8]) -> String { Hex.encode(bytes) }

/// RFC 8032 §7.1 seeds: TEST 1 is the lender (server), TEST 2 the borrower (client), TEST 3 a stranger.
enum Seeds {
    static let server = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
    static let client = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"
    static let stranger = "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7"
    static let clientEphemeral = String(repeating: "11", count: 32)
    static let serverEphemeral = String(repeating: "22", count: 32)
    static let otherEphemeral = String(repeating: "33", count: 32)
}

func key(_ seed: String) -> SigningKey { try! SigningKey(seed: hexBytes(seed)) }

/// Drives a client and a server handshake machine against each other in memory.
func handshakeInMemory(
    client: SigningKey, server: SigningKey, expecting: PublicKey,
    clientEphemeral: EphemeralKey = .generate(), serverEphemeral: EphemeralKey = .generate()
) throws(ChannelError) -> (client: EstablishedSession, server: EstablishedSession, transcript: [[UInt8]]) {
    var c = Handshake.client(identity: client, expecting: expecting, ephemeral: clientEphemeral)
    var s = Handshake.server(identity: server, ephemeral: serverEphemeral)
    let hello = c.start()
    let serverHello = try s.receive(hello)
    let clientFinish = try c.receive(serverHello.output)
    let serverDone = try s.receive(clientFinish.output)
    let clientDone = try c.receive(serverDone.output)
    return (clientDone.session!, serverDone.session!, [hello, serverHello.output, clientFinish.output, serverDone.output])
}
