// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import PotluckCrypto

/// What a finished handshake hands to the connection (`spec/0015-job-channel.md` §4).
struct EstablishedSession {
    /// The authenticated remote identity.
    let peer: PublicKey
    /// Seals this side's outgoing frames (its header has already been sent).
    let sealer: FrameSealer
    /// Opens the peer's frames; already holds any bytes that followed the handshake.
    let opener: FrameOpener
    let keys: SessionKeys
    /// Whether this side is the client (the borrower).
    let isClient: Bool
}

/// The handshake as a sans-I/O state machine (`spec/0015-job-channel.md` §3): feed it the bytes
/// the peer sent with ``receive(_:)``, write out each step's `output`, and stop when a step
/// carries a `session`. Messages are fixed-size, so the machine never buffers more than the one
/// it waits for; a peer that sends more before the handshake ends is refused (`badHandshake`).
struct Handshake {
    /// One step: bytes to send now, and the session once the handshake is done.
    struct Step {
        var output: [UInt8] = []
        var session: EstablishedSession? = nil
    }

    private enum State {
        case clientStart
        case clientAwaitingServerHello(clientHello: [UInt8])
        case clientAwaitingServerHeader(sealer: FrameSealer, keys: SessionKeys)
        case serverAwaitingClientHello
        case serverAwaitingClientFinish(client: PublicKey, keys: SessionKeys)
        case done
        case failed(ChannelError)
    }

    private let identity: SigningKey
    private let ephemeral: EphemeralKey
    private let expectedServer: PublicKey?
    private var state: State
    private var buffer: [UInt8] = []

    /// The client role: it must prove to be talking to `server`.
    static func client(identity: SigningKey, expecting server: PublicKey, ephemeral: EphemeralKey = .generate()) -> Handshake {
        Handshake(identity: identity, ephemeral: ephemeral, expectedServer: server, state: .clientStart)
    }

    /// The server role: it learns the client's identity from the handshake.
    static func server(identity: SigningKey, ephemeral: EphemeralKey = .generate()) -> Handshake {
        Handshake(identity: identity, ephemeral: ephemeral, expectedServer: nil, state: .serverAwaitingClientHello)
    }

    private init(identity: SigningKey, ephemeral: EphemeralKey, expectedServer: PublicKey?, state: State) {
        self.identity = identity
        self.ephemeral = ephemeral
        self.expectedServer = expectedServer
        self.state = state
    }

    /// The client's first message (ClientHello, §3.1); the server starts by listening.
    mutating func start() -> [UInt8] {
        guard case .clientStart = state else { return [] }
        let hello = HandshakeLayout.magic + ephemeral.publicKey.bytes + identity.publicKey.bytes
        state = .clientAwaitingServerHello(clientHello: hello)
        return hello
    }

    /// The number of bytes the current message still needs (0 when done or failed).
    var bytesWanted: Int {
        let size: Int
        switch state {
        case .clientAwaitingServerHello: size = HandshakeLayout.serverHelloSize
        case .clientAwaitingServerHeader: size = HandshakeLayout.serverFinishSize
        case .serverAwaitingClientHello: size = HandshakeLayout.clientHelloSize
        case .serverAwaitingClientFinish: size = HandshakeLayout.clientFinishSize
        case .clientStart, .done, .failed: return 0
        }
        return max(0, size - buffer.count)
    }

    /// Takes bytes from the peer. Throws on any failure; the machine then stays failed.
    mutating func receive(_ bytes: [UInt8]) throws(ChannelError) -> Step {
        if case .failed(let error) = state { throw error }
        do {
            return try advance(bytes)
        } catch {
            state = .failed(error)
            throw error
        }
    }

    private mutating func advance(_ bytes: [UInt8]) throws(ChannelError) -> Step {
        buffer += bytes
        switch state {
        case .clientAwaitingServerHello(let hello):
            guard let message = try take(HandshakeLayout.serverHelloSize, last: false) else { return Step() }
            return try clientReceivedServerHello(message, clientHello: hello)
        case .clientAwaitingServerHeader(let sealer, let keys):
            guard let header = try take(HandshakeLayout.serverFinishSize, last: true) else { return Step() }
            let opener = try FrameOpener(key: keys.serverToClient, header: header)
            opener.append(buffer)
            buffer = []
            state = .done
            return Step(session: EstablishedSession(peer: expectedServer!, sealer: sealer, opener: opener, keys: keys, isClient: true))
        case .serverAwaitingClientHello:
            guard let message = try take(HandshakeLayout.clientHelloSize, last: false) else { return Step() }
            return try serverReceivedClientHello(message)
        case .serverAwaitingClientFinish(let client, let keys):
            guard let message = try take(HandshakeLayout.clientFinishSize, last: true) else { return Step() }
            let signature = try! Signature(bytes: message[0..<64])
            guard client.isValidSignature(signature, for: SessionKeys.signed(HandshakeLayout.clientRole, keys.clientTranscript)) else {
                throw ChannelError(.badSignature, "the client's handshake signature does not verify for \(client.hex): a replayed or forged handshake")
            }
            let opener = try FrameOpener(key: keys.clientToServer, header: Array(message[64...]))
            opener.append(buffer)
            buffer = []
            let sealer = FrameSealer(key: keys.serverToClient)
            state = .done
            return Step(output: sealer.header, session: EstablishedSession(peer: client, sealer: sealer, opener: opener, keys: keys, isClient: false))
        case .clientStart, .done, .failed:
            throw ChannelError(.badHandshake, "handshake bytes arrived when none were expected")
        }
    }

    /// Removes one message of `size` bytes; only the last message may be followed by more.
    private mutating func take(_ size: Int, last: Bool) throws(ChannelError) -> [UInt8]? {
        guard buffer.count >= size else { return nil }
        guard last || buffer.count == size else {
            throw ChannelError(.badHandshake, "the peer sent \(buffer.count - size) bytes beyond a \(size)-byte handshake message before its turn")
        }
        let message = Array(buffer[0..<size])
        buffer.removeFirst(size)
        return message
    }

    private mutating func clientReceivedServerHello(_ message: [UInt8], clientHello: [UInt8]) throws(ChannelError) -> Step {
        let serverEphemeral = Bytes32(message[0..<32])!
        let server = try! PublicKey(bytes: message[32..<64])
        let signature = try! Signature(bytes: message[64..<128])
        guard server == expectedServer else {
            throw ChannelError(.wrongPeer, "the server is \(server.hex), not the expected \(expectedServer!.hex)")
        }
        let h2 = SessionKeys.serverTranscript(clientHello: clientHello, serverEphemeral: serverEphemeral, serverIdentity: server)
        guard server.isValidSignature(signature, for: SessionKeys.signed(HandshakeLayout.serverRole, h2)) else {
            throw ChannelError(.badSignature, "the server's handshake signature does not verify for \(server.hex)")
        }
        let h3 = SessionKeys.clientTranscript(serverTranscript: h2, serverSignature: signature)
        let keys = SessionKeys(
            staticShared: try SessionKeys.staticShared(identity, server),
            ephemeralShared: try SessionKeys.ephemeralShared(ephemeral, serverEphemeral),
            serverTranscript: h2, clientTranscript: h3)
        let sealer = FrameSealer(key: keys.clientToServer)
        let mySignature = identity.sign(SessionKeys.signed(HandshakeLayout.clientRole, h3))
        state = .clientAwaitingServerHeader(sealer: sealer, keys: keys)
        return Step(output: mySignature.bytes + sealer.header)
    }

    private mutating func serverReceivedClientHello(_ message: [UInt8]) throws(ChannelError) -> Step {
        guard Array(message[0..<HandshakeLayout.magic.count]) == HandshakeLayout.magic else {
            throw ChannelError(.badHandshake, "not a Potluck job channel version 1 ClientHello (magic \(Hex.encode(Array(message[0..<5]))))")
        }
        let clientEphemeral = Bytes32(message[5..<37])!
        let client = try! PublicKey(bytes: message[37..<69])
        let staticShared = try SessionKeys.staticShared(identity, client)
        let ephemeralShared = try SessionKeys.ephemeralShared(ephemeral, clientEphemeral)
        let h2 = SessionKeys.serverTranscript(clientHello: message, serverEphemeral: ephemeral.publicKey, serverIdentity: identity.publicKey)
        let signature = identity.sign(SessionKeys.signed(HandshakeLayout.serverRole, h2))
        let h3 = SessionKeys.clientTranscript(serverTranscript: h2, serverSignature: signature)
        let keys = SessionKeys(staticShared: staticShared, ephemeralShared: ephemeralShared, serverTranscript: h2, clientTranscript: h3)
        state = .serverAwaitingClientFinish(client: client, keys: keys)
        return Step(output: ephemeral.publicKey.bytes + identity.publicKey.bytes + signature.bytes)
    }
}
