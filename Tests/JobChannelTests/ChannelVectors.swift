import PotluckCrypto
import Foundation
@testable import JobChannel
import Testing

/// The shape of `spec/vectors/job-channel.json` (`spec/0015-job-channel.md` §8).
struct ChannelVectors: Codable, Equatable {
    struct FrameVector: Codable, Equatable {
        /// The client→server stream header (random when the file was written).
        var header: String
        var plaintext: String
        /// The first frame, length prefix included.
        var frame: String
        /// The final frame (tag FINAL, empty plaintext).
        var finalFrame: String
    }

    /// A hand-made bad input: the role that receives `messages` (after `start()` for a client)
    /// must fail with `code`.
    struct Rejection: Codable, Equatable, CustomTestStringConvertible {
        var name: String
        var role: String
        var ephemeralSecret: String
        var messages: [String]
        var code: String
        var testDescription: String { name }
    }

    var protocolName: String
    var clientSeed: String
    var serverSeed: String
    var clientEphemeralSecret: String
    var serverEphemeralSecret: String
    var clientIdentity: String
    var serverIdentity: String
    var clientHello: String
    var serverHello: String
    var clientSignature: String
    var serverTranscript: String
    var clientTranscript: String
    var clientToServerKeyHash: String
    var serverToClientKeyHash: String
    /// What each side sends first on a punched connection (spec 0021 §6).
    var clientPunchProof: String
    var serverPunchProof: String
    var firstFrame: FrameVector
    var rejections: [Rejection]
}

/// Builds the vectors from the fixed seeds and ephemeral secrets.
enum VectorFactory {
    static func make(header: [UInt8]? = nil, frames: FrameVectorSource? = nil) -> ChannelVectors {
        let client = key(Seeds.client), server = key(Seeds.server)
        let run = try! handshakeInMemory(
            client: client, server: server, expecting: server.publicKey,
            clientEphemeral: EphemeralKey(secret: hexBytes(Seeds.clientEphemeral)),
            serverEphemeral: EphemeralKey(secret: hexBytes(Seeds.serverEphemeral)))
        let keys = run.client.keys
        let plaintext = Array("hello, lender".utf8)
        let sealer = run.client.sealer
        let frame = frames ?? FrameVectorSource(header: sealer.header, frame: sealer.seal(plaintext), finalFrame: sealer.seal([], final: true))
        let hello = run.transcript[0], serverHello = run.transcript[1], finish = run.transcript[2]
        return ChannelVectors(
            protocolName: String(decoding: HandshakeLayout.protocolName, as: UTF8.self),
            clientSeed: Seeds.client, serverSeed: Seeds.server,
            clientEphemeralSecret: Seeds.clientEphemeral, serverEphemeralSecret: Seeds.serverEphemeral,
            clientIdentity: client.publicKey.hex, serverIdentity: server.publicKey.hex,
            clientHello: hex(hello), serverHello: hex(serverHello), clientSignature: hex(Array(finish[0..<64])),
            serverTranscript: keys.serverTranscript.hex, clientTranscript: keys.clientTranscript.hex,
            clientToServerKeyHash: Blake2b.hash256(keys.clientToServer.bytes).hex,
            serverToClientKeyHash: Blake2b.hash256(keys.serverToClient.bytes).hex,
            clientPunchProof: hex(keys.punchProof(HandshakeLayout.clientRole)), serverPunchProof: hex(keys.punchProof(HandshakeLayout.serverRole)),
            firstFrame: .init(header: hex(frame.header), plaintext: hex(plaintext), frame: hex(frame.frame), finalFrame: hex(frame.finalFrame)),
            rejections: rejections(hello: hello, serverHello: serverHello, finish: finish))
    }

    struct FrameVectorSource {
        var header: [UInt8], frame: [UInt8], finalFrame: [UInt8]
    }

    static func rejections(hello: [UInt8], serverHello: [UInt8], finish realFinish: [UInt8]) -> [ChannelVectors.Rejection] {
        // The real header is random; the signature is checked before the header is used.
        let finish = Array(realFinish[0..<64]) + [UInt8](repeating: 0x44, count: 24)
        let stranger = key(Seeds.stranger)
        func flipped(_ bytes: [UInt8], at index: Int) -> [UInt8] { var b = bytes; b[index] ^= 0x01; return b }
        let zeroKey = [UInt8](repeating: 0, count: 32)
        // A stranger's valid-looking ServerHello: its own key, signed by itself.
        var strangerHandshake = Handshake.server(identity: stranger, ephemeral: EphemeralKey(secret: hexBytes(Seeds.serverEphemeral)))
        let strangerHello = try! strangerHandshake.receive(hello).output
        typealias R = ChannelVectors.Rejection
        return [
            R(name: "ServerHello signature altered", role: "client", ephemeralSecret: Seeds.clientEphemeral,
              messages: [hex(flipped(serverHello, at: 100))], code: "badSignature"),
            R(name: "ServerHello ephemeral altered", role: "client", ephemeralSecret: Seeds.clientEphemeral,
              messages: [hex(flipped(serverHello, at: 3))], code: "badSignature"),
            R(name: "ServerHello from another identity", role: "client", ephemeralSecret: Seeds.clientEphemeral,
              messages: [hex(strangerHello)], code: "wrongPeer"),
            R(name: "ServerHello followed by extra bytes", role: "client", ephemeralSecret: Seeds.clientEphemeral,
              messages: [hex(serverHello + [0])], code: "badHandshake"),
            R(name: "ClientHello with the wrong magic", role: "server", ephemeralSecret: Seeds.serverEphemeral,
              messages: [hex(flipped(hello, at: 0))], code: "badHandshake"),
            R(name: "ClientHello with version 2", role: "server", ephemeralSecret: Seeds.serverEphemeral,
              messages: [hex(Array(hello[0..<4]) + [2] + Array(hello[5...]))], code: "badHandshake"),
            R(name: "ClientHello with a low-order ephemeral key", role: "server", ephemeralSecret: Seeds.serverEphemeral,
              messages: [hex(Array(hello[0..<5]) + zeroKey + Array(hello[37...]))], code: "badHandshake"),
            R(name: "ClientFinish signature altered", role: "server", ephemeralSecret: Seeds.serverEphemeral,
              messages: [hex(hello), hex(flipped(finish, at: 10))], code: "badSignature"),
            R(name: "ClientHello and ClientFinish replayed to a fresh server ephemeral", role: "server",
              ephemeralSecret: Seeds.otherEphemeral, messages: [hex(hello), hex(finish)], code: "badSignature"),
        ]
    }
}
