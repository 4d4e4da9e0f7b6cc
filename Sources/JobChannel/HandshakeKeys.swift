// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import CSodium
import PotluckCrypto

/// The handshake's fixed layout and its key schedule (`spec/0015-job-channel.md` §2–§4).
enum HandshakeLayout {
    /// The protocol name and version, the first input of the transcript hash.
    static let protocolName = Array("potluck-job-channel/1".utf8)
    /// The first bytes on the wire: "PLJC" and version 1.
    static let magic: [UInt8] = Array("PLJC".utf8) + [1]
    /// `magic ‖ client ephemeral ‖ client identity`.
    static let clientHelloSize = magic.count + 32 + 32
    /// `server ephemeral ‖ server identity ‖ server signature`.
    static let serverHelloSize = 32 + 32 + 64
    /// `client signature ‖ client→server stream header`.
    static let clientFinishSize = 64 + 24
    /// `server→client stream header`.
    static let serverFinishSize = 24
    /// The role bytes that prefix each signed transcript hash (domain separation).
    static let serverRole = UInt8(ascii: "S"), clientRole = UInt8(ascii: "C")
}

/// The secrets one handshake produces (§4).
struct SessionKeys: Sendable {
    /// h2 = BLAKE2b-256(protocol ‖ ClientHello ‖ e_s ‖ id_s): what the server signs.
    let serverTranscript: Bytes32
    /// h3 = BLAKE2b-256(h2 ‖ server signature): what the client signs, and the KDF key.
    let clientTranscript: Bytes32
    /// The key of the client→server secretstream.
    let clientToServer: Bytes32
    /// The key of the server→client secretstream.
    let serverToClient: Bytes32
    /// The key that proves a punched connection belongs to this session (`spec/0021` §6):
    /// BLAKE2b-256(key: h3, message: "potluck punch v1" ‖ ss ‖ ee), secret like the stream keys.
    let punch: Bytes32

    static func serverTranscript(clientHello: [UInt8], serverEphemeral: Bytes32, serverIdentity: PublicKey) -> Bytes32 {
        Blake2b.hash256(HandshakeLayout.protocolName + clientHello + serverEphemeral.bytes + serverIdentity.bytes)
    }

    static func clientTranscript(serverTranscript: Bytes32, serverSignature: Signature) -> Bytes32 {
        Blake2b.hash256(serverTranscript.bytes + serverSignature.bytes)
    }

    /// What `role` sends first on a punched connection: BLAKE2b-256(key: punch, message: role).
    func punchProof(_ role: UInt8) -> [UInt8] { Blake2b.hash([role], length: 32, key: punch.bytes) }

    /// The signed message: the role byte followed by the transcript hash.
    static func signed(_ role: UInt8, _ transcript: Bytes32) -> [UInt8] { [role] + transcript.bytes }

    /// okm = BLAKE2b-512(key: h3, message: ss ‖ ee); c→s = okm[0..<32], s→c = okm[32..<64].
    init(staticShared: Bytes32, ephemeralShared: Bytes32, serverTranscript: Bytes32, clientTranscript: Bytes32) {
        var input = staticShared.bytes + ephemeralShared.bytes
        var okm = Blake2b.hash(input, length: 64, key: clientTranscript.bytes)
        self.serverTranscript = serverTranscript
        self.clientTranscript = clientTranscript
        clientToServer = Bytes32(okm[0..<32])!
        serverToClient = Bytes32(okm[32..<64])!
        var punchInput = Array("potluck punch v1".utf8) + staticShared.bytes + ephemeralShared.bytes
        punch = Bytes32(Blake2b.hash(punchInput, length: 32, key: clientTranscript.bytes))!
        punchInput.withUnsafeMutableBytes { sodium_memzero($0.baseAddress, $0.count) }
        input.withUnsafeMutableBytes { sodium_memzero($0.baseAddress, $0.count) }
        okm.withUnsafeMutableBytes { sodium_memzero($0.baseAddress, $0.count) }
    }

    /// ss: X25519 of the two identities converted to Montgomery form (ed25519 → X25519).
    static func staticShared(_ mine: SigningKey, _ theirs: PublicKey) throws(ChannelError) -> Bytes32 {
        do {
            return try mine.keyAgreementKey().sharedSecret(with: theirs.keyAgreementKey())
        } catch {
            throw ChannelError(.badHandshake, "the peer's identity \(theirs.hex) cannot be used for key agreement: \(error.message)")
        }
    }

    /// ee: X25519 of the two ephemeral keys.
    static func ephemeralShared(_ mine: EphemeralKey, _ theirs: Bytes32) throws(ChannelError) -> Bytes32 {
        guard let shared = mine.sharedSecret(with: theirs) else {
            throw ChannelError(.badHandshake, "the peer's ephemeral key is a low-order point")
        }
        return shared
    }
}
