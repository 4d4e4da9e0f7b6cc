// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import PotluckCrypto

/// Entry points for the fuzz targets (`Tests/fuzz`): the channel's sans-I/O parsers fed with
/// arbitrary bytes, as a stranger's connection would feed them. Not for applications.
@_spi(Fuzzing) public enum ChannelFuzzing {
    private static let server = try! SigningKey(seed: [UInt8](repeating: 7, count: 32))
    private static let client = try! SigningKey(seed: [UInt8](repeating: 9, count: 32))

    /// A server handshake fed `bytes` in two pieces (the first byte says where to cut), and a
    /// client handshake fed the same bytes as the server's answers. Returns how many of the two
    /// reached a session (almost never: the peer's signatures must verify).
    @discardableResult
    public static func handshakes(_ bytes: [UInt8]) -> Int {
        guard let cut = bytes.first.map({ Int($0) }) else { return 0 }
        let rest = Array(bytes.dropFirst())
        let pieces = [Array(rest.prefix(cut)), Array(rest.dropFirst(cut))]
        var sessions = 0
        var server = Handshake.server(identity: Self.server)
        var client = Handshake.client(identity: Self.client, expecting: Self.server.publicKey)
        _ = client.start()
        for piece in pieces {
            if let step = try? server.receive(piece), step.session != nil { sessions += 1 }
            if let step = try? client.receive(piece), step.session != nil { sessions += 1 }
        }
        return sessions
    }

    /// Frames opened from `bytes` under a fixed key, the first 24 bytes being the stream header;
    /// returns how many opened before the stream ended or failed.
    @discardableResult
    public static func frames(_ bytes: [UInt8], limit: Int = FrameCodec.maxMessageSize) -> Int {
        guard bytes.count >= FrameCodec.headerSize,
              let opener = try? FrameOpener(key: Bytes32([UInt8](repeating: 3, count: 32))!, header: Array(bytes.prefix(FrameCodec.headerSize)))
        else { return 0 }
        opener.limit = limit
        opener.append(Array(bytes.dropFirst(FrameCodec.headerSize)))
        var opened = 0
        while let frame = try? opener.next() {
            opened += 1
            if frame == .final || frame == .moved { break }
        }
        return opened
    }

    /// A datagram tunnel's byte stream (`spec/0021` §5.4, §5.5) cut into frames, by a plain
    /// tunnel's decoder and by one that carries receipts; returns the frames decoded by both.
    @discardableResult
    public static func tunnelFrames(_ bytes: [UInt8]) -> Int {
        var decoded = 0
        for receipts in [false, true] {
            var decoder = TunnelWire.Decoder(receipts: receipts)
            decoder.push(bytes)
            while (try? decoder.next()).flatMap({ $0 }) != nil { decoded += 1 }
        }
        return decoded
    }
}
