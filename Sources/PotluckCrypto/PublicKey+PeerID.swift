/// Peer ids: the human-friendly form of a public key (`spec/0002-identity.md`).
///
/// A peer id is the bech32m encoding (BIP 350) of the 32 key bytes under the prefix `pl`:
/// 61 characters, case-insensitive, with a checksum that catches typos, e.g.
/// `pl1…`. Tools accept a peer id or the key's 64 hex digits.
extension PublicKey {
    /// The human-readable prefix of peer ids.
    public static let peerIDPrefix = "pl"

    /// This key as a peer id.
    public var peerID: String { Bech32m.encode(hrp: Self.peerIDPrefix, data: bytes) }

    /// Parses a peer id (`pl1…`) or 64 hex digits; throws with the reason otherwise.
    public init(peerID text: String) throws(CryptoError) {
        if text.utf8.count == 64, let bytes = Hex.decode(text) {
            try self.init(bytes: bytes)
            return
        }
        let decoded: (hrp: String, data: [UInt8])
        do {
            decoded = try Bech32m.decode(text)
        } catch {
            throw CryptoError(.invalidEncoding, "'\(text)' is not a peer id: \(error.message.replacingPrefix())")
        }
        guard decoded.hrp == Self.peerIDPrefix else {
            throw CryptoError(.invalidEncoding, "'\(text)' is not a peer id: it starts with '\(decoded.hrp)1', not '\(Self.peerIDPrefix)1'")
        }
        guard decoded.data.count == Bytes32.count else {
            throw CryptoError(.invalidEncoding, "'\(text)' is not a peer id: it holds \(decoded.data.count) bytes, not 32")
        }
        try self.init(bytes: decoded.data)
    }
}

extension String {
    fileprivate func replacingPrefix() -> String {
        let prefix = "not a valid bech32m string: "
        return hasPrefix(prefix) ? String(dropFirst(prefix.count)) : self
    }
}
