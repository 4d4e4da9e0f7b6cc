// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// A failure of the job channel: a code to match on and a message a person can act on
/// (`spec/0015-job-channel.md` §7 lists when each code is raised).
public struct ChannelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, as a stable identifier.
    public enum Code: Sendable, Hashable {
        /// The server proved an identity other than the one the client expected.
        case wrongPeer
        /// A handshake signature does not verify for the identity it claims.
        case badSignature
        /// A handshake message is malformed (magic, version, key, length, extra bytes).
        case badHandshake
        /// A frame failed authentication, or carried a tag the protocol does not allow.
        case decryptFailed
        /// A frame's announced or requested size exceeds ``FrameCodec/maxMessageSize``.
        case frameTooLarge
        /// The TCP stream ended without the peer's final frame: the connection was dropped.
        case truncated
        /// The connection or the handshake did not finish in time.
        case timedOut
        /// The connection was closed on this side (or the call was cancelled).
        case closed
        /// A socket-level failure: resolve, connect, bind, write.
        case io
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    /// Lets `catch let e as ChannelError where .truncated ~= e` read naturally.
    public static func ~= (pattern: Code, error: ChannelError) -> Bool { pattern == error.code }
}

/// A socket error in one phrase a person can read: `Address already in use` rather than NIO's
/// `bind(descriptor:ptr:bytes:): Address already in use (errno: 98)`.
public func plainSocketError(_ error: any Error) -> String {
    if let io = error as? IOError { return String(cString: strerror(io.errnoCode)) }
    if let channel = error as? ChannelError { return channel.message }
    return "\(error)"
}
