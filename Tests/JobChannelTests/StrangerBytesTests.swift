import PotluckCrypto
@_spi(Fuzzing) @testable import JobChannel
import SeededRandom
import Testing

/// The fuzz targets' entry points (`Tests/fuzz`) driven by a seeded generator in every test run:
/// a stranger's bytes never crash the handshake or the frame layer, and a frame over the limit
/// is refused before its bytes are buffered.
@Suite struct StrangerBytesTests {
    @Test func randomBytesNeverCrashTheHandshakeOrTheFrames() {
        var random = SplitMix64(seed: 20)
        for _ in 0..<5_000 {
            let length = Int(random.next() % 600)
            var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            // Half the inputs start like a real ClientHello, so the parser goes past the magic.
            if random.next() % 2 == 0, bytes.count > 6 { bytes.replaceSubrange(1..<5, with: Array("PLJC".utf8)) }
            #expect(ChannelFuzzing.handshakes(bytes) == 0, "random bytes cannot complete a handshake")
            #expect(ChannelFuzzing.frames(bytes, limit: JobChannelServer.preAdmissionFrameBytes) == 0,
                    "random bytes cannot pass a frame's authentication")
        }
    }

    @Test func aLengthOverTheLimitIsRefusedBeforeTheFrameArrives() throws {
        let opener = try FrameOpener(key: Bytes32([UInt8](repeating: 3, count: 32))!, header: [UInt8](repeating: 0, count: 24))
        opener.limit = JobChannelServer.preAdmissionFrameBytes
        let announced = JobChannelServer.preAdmissionFrameBytes + FrameCodec.tagOverhead + 1
        opener.append([0, UInt8(announced >> 16), UInt8(announced >> 8 & 0xFF), UInt8(announced & 0xFF)])
        #expect(throws: JobChannel.ChannelError.self) { _ = try opener.next() }
        #expect(opener.bufferedByteCount == 0)
    }
}
