import PotluckCrypto
@testable import JobChannel
import Testing

@Suite("frames (spec/0015-job-channel.md §5)")
struct FrameCodecTests {
    private func pair() throws -> (FrameSealer, FrameOpener) {
        let key = Blake2b.hash256(Array("frame test key".utf8))
        let sealer = FrameSealer(key: key)
        return (sealer, try FrameOpener(key: key, header: sealer.header))
    }

    @Test(arguments: [0, 1, 17, 4096, 1 << 20])
    func aMessageRoundTrips(_ size: Int) throws {
        let (sealer, opener) = try pair()
        let message = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let frame = sealer.seal(message)
        #expect(frame.count == 4 + size + 17)
        opener.append(Array(frame.dropLast()))
        #expect(try opener.next() == nil)
        opener.append([frame.last!])
        #expect(try opener.next() == .message(message))
        #expect(opener.bufferedByteCount == 0)
    }

    @Test func theFinalFrameEndsTheStreamAndLaterBytesAreIgnored() throws {
        let (sealer, opener) = try pair()
        opener.append(sealer.seal([1, 2]) + sealer.seal([], final: true) + sealer.seal([3]))
        #expect(try opener.next() == .message([1, 2]))
        #expect(try opener.next() == .final)
        #expect(try opener.next() == .final)
    }

    /// A moved frame (spec 0021 §6) hands the stream to another connection: the frames after it,
    /// fed from there, open in order; a byte after it on the connection it left is refused.
    @Test func aMovedFrameContinuesTheStreamElsewhere() throws {
        let (sealer, opener) = try pair()
        opener.append(sealer.seal([1]) + sealer.sealMoved())
        #expect(try opener.next() == .message([1]))
        #expect(try opener.next() == .moved)
        opener.append(sealer.seal([2]))
        #expect(try opener.next() == .message([2]))

        let (otherSealer, otherOpener) = try pair()
        otherOpener.append(otherSealer.sealMoved() + otherSealer.seal([3]))
        #expect(throws: ChannelError.self) { try otherOpener.next() }
    }

    @Test func anOversizeLengthIsRefusedBeforeItsBytesArrive() throws {
        let (_, opener) = try pair()
        opener.append([0xff, 0xff, 0xff, 0xff])
        #expect { try opener.next() } throws: { ($0 as? ChannelError)?.code == .frameTooLarge }
        #expect(opener.bufferedByteCount == 0)
        let limit = FrameCodec.maxMessageSize + FrameCodec.tagOverhead + 1
        let (_, other) = try pair()
        other.append([UInt8(limit >> 24), UInt8(limit >> 16 & 0xff), UInt8(limit >> 8 & 0xff), UInt8(limit & 0xff)])
        #expect { try other.next() } throws: { ($0 as? ChannelError)?.code == .frameTooLarge }
    }

    @Test func aFlippedByteFailsAuthenticationAndPoisonsTheStream() throws {
        let (sealer, opener) = try pair()
        var frame = sealer.seal(Array("payload".utf8))
        frame[6] ^= 0x80
        opener.append(frame + sealer.seal([1]))
        #expect { try opener.next() } throws: { ($0 as? ChannelError)?.code == .decryptFailed }
        #expect { try opener.next() } throws: { ($0 as? ChannelError)?.code == .decryptFailed }
    }

    @Test func reorderedFramesFail() throws {
        let (sealer, opener) = try pair()
        let first = sealer.seal([1]), second = sealer.seal([2])
        opener.append(second + first)
        #expect { try opener.next() } throws: { ($0 as? ChannelError)?.code == .decryptFailed }
    }

    @Test func aFrameShorterThanItsTagIsRefused() throws {
        let (_, opener) = try pair()
        opener.append([0, 0, 0, 3, 1, 2, 3])
        #expect { try opener.next() } throws: { ($0 as? ChannelError)?.code == .decryptFailed }
    }
}
