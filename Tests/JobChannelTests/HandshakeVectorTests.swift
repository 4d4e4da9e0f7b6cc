import PotluckCrypto
import Foundation
@testable import JobChannel
import Testing

/// `spec/vectors/job-channel.json`. Set POTLUCK_WRITE_VECTORS=1 to (re)write it (the stream
/// header and frames are random at writing time; everything else follows from the seeds).
private let vectors: ChannelVectors? = {
    let url = packageRoot.appendingPathComponent("spec/vectors/job-channel.json")
    if ProcessInfo.processInfo.environment["POTLUCK_WRITE_VECTORS"] == "1" {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try? (encoder.encode(VectorFactory.make()) + [0x0a]).write(to: url)
    }
    guard let data = try? Data(contentsOf: url) else { return nil }
    return try? JSONDecoder().decode(ChannelVectors.self, from: data)
}()

@Suite("job channel vectors (spec/0015-job-channel.md §8)")
struct HandshakeVectorTests {
    @Test func theHandshakeBytesFollowFromTheSeeds() throws {
        let file = try #require(vectors)
        let frames = VectorFactory.FrameVectorSource(
            header: hexBytes(file.firstFrame.header), frame: hexBytes(file.firstFrame.frame),
            finalFrame: hexBytes(file.firstFrame.finalFrame))
        #expect(file == VectorFactory.make(frames: frames))
        #expect(file.protocolName == "potluck-job-channel/1")
        #expect(hexBytes(file.clientHello).count == 69)
        #expect(hexBytes(file.serverHello).count == 128)
        #expect(file.rejections.count == 9)
    }

    @Test func theFirstFrameOpensUnderTheDerivedKey() throws {
        let file = try #require(vectors)
        let run = try handshakeInMemory(
            client: key(Seeds.client), server: key(Seeds.server), expecting: key(Seeds.server).publicKey,
            clientEphemeral: EphemeralKey(secret: hexBytes(Seeds.clientEphemeral)),
            serverEphemeral: EphemeralKey(secret: hexBytes(Seeds.serverEphemeral)))
        let opener = try FrameOpener(key: run.server.keys.clientToServer, header: hexBytes(file.firstFrame.header))
        opener.append(hexBytes(file.firstFrame.frame) + hexBytes(file.firstFrame.finalFrame))
        #expect(try opener.next() == .message(hexBytes(file.firstFrame.plaintext)))
        #expect(try opener.next() == .final)
        #expect(hexBytes(file.firstFrame.frame).count == 4 + 13 + 17)
    }

    @Test(arguments: vectors?.rejections ?? [])
    func aBadHandshakeMessageIsRefused(_ rejection: ChannelVectors.Rejection) throws {
        let client = key(Seeds.client), server = key(Seeds.server)
        let ephemeral = EphemeralKey(secret: hexBytes(rejection.ephemeralSecret))
        var machine = rejection.role == "client"
            ? Handshake.client(identity: client, expecting: server.publicKey, ephemeral: ephemeral)
            : Handshake.server(identity: server, ephemeral: ephemeral)
        _ = machine.start()
        var caught: ChannelError?
        do {
            for message in rejection.messages { _ = try machine.receive(hexBytes(message)) }
        } catch { caught = error }
        #expect(caught.map { "\($0.code)" } == rejection.code, "\(caught?.message ?? "no error")")
    }
}

@Suite("handshake state machine (spec/0015-job-channel.md §3)")
struct HandshakeTests {
    @Test func bothSidesDeriveTheSameKeysAndLearnEachOther() throws {
        let client = key(Seeds.client), server = key(Seeds.server)
        let run = try handshakeInMemory(client: client, server: server, expecting: server.publicKey)
        #expect(run.client.keys.clientToServer == run.server.keys.clientToServer)
        #expect(run.client.keys.serverToClient == run.server.keys.serverToClient)
        #expect(run.client.keys.clientToServer != run.client.keys.serverToClient)
        #expect(run.client.peer == server.publicKey)
        #expect(run.server.peer == client.publicKey)
        #expect(run.transcript.map(\.count) == [69, 128, 88, 24])
    }

    @Test func freshEphemeralKeysGiveFreshSessionKeys() throws {
        let client = key(Seeds.client), server = key(Seeds.server)
        let a = try handshakeInMemory(client: client, server: server, expecting: server.publicKey)
        let b = try handshakeInMemory(client: client, server: server, expecting: server.publicKey)
        #expect(a.client.keys.clientToServer != b.client.keys.clientToServer)
    }

    @Test func bytesMaySplitAnywhere() throws {
        let client = key(Seeds.client), server = key(Seeds.server)
        var c = Handshake.client(identity: client, expecting: server.publicKey)
        var s = Handshake.server(identity: server)
        var serverOutput: [UInt8] = []
        for byte in c.start() { serverOutput += try s.receive([byte]).output }
        var clientOutput: [UInt8] = []
        for byte in serverOutput { clientOutput += try c.receive([byte]).output }
        var serverSession: EstablishedSession?
        var last: [UInt8] = []
        for byte in clientOutput {
            let step = try s.receive([byte])
            last += step.output
            if step.session != nil { serverSession = step.session }
        }
        let clientSession = try #require(try c.receive(last).session)
        #expect(serverSession?.peer == client.publicKey)
        #expect(clientSession.keys.serverToClient == serverSession?.keys.serverToClient)
    }

    @Test func aFailedMachineStaysFailed() throws {
        var s = Handshake.server(identity: key(Seeds.server))
        #expect(throws: ChannelError.self) { try s.receive([UInt8](repeating: 0, count: 69)) }
        #expect(throws: ChannelError.self) { try s.receive([]) }
    }
}
