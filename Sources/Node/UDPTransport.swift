import Kademlia
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// The node's UDP socket (SwiftNIO): binds an address, hands inbound datagrams to the owner and
/// sends outbound ones. Oversized datagrams are dropped before they reach the DHT core.
public struct UDPTransport: Sendable {
    public typealias Channel = NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>

    /// Datagrams read per system call.
    static let vectorReadCount = 16

    /// Binds `endpoint` (port 0 picks a free port).
    ///
    /// No `SO_REUSEADDR`: on Linux it lets two UDP sockets share a port (even two port-0 binds
    /// can be handed the same one), and datagrams then reach only one of them. A second node on a
    /// taken port must fail loudly instead.
    public static func bind(_ endpoint: Endpoint, group: any EventLoopGroup, maxDatagramSize: Int) async throws -> Channel {
        try await bootstrap(group: group, maxDatagramSize: maxDatagramSize)
            .bind(host: endpoint.addressText, port: Int(endpoint.port)) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(
                        wrappingChannelSynchronously: channel)
                }
            }
    }

    /// A UDP bootstrap with the node's socket options.
    static func bootstrap(group: any EventLoopGroup, maxDatagramSize: Int) -> DatagramBootstrap {
        DatagramBootstrap(group: group)
            // Vector reads (recvmmsg) take up to 16 datagrams per system call; the receive buffer
            // must hold all of them, or NIO silently truncates each datagram (stack notes).
            .channelOption(.datagramVectorReadMessageCount, value: vectorReadCount)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: (maxDatagramSize + 1) * vectorReadCount))
    }
}

extension Endpoint {
    /// Converts a NIO socket address (IPv4 or IPv6) to an endpoint; `nil` for Unix sockets.
    /// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) becomes the IPv4 peer it stands for.
    ///
    /// Reads the `sockaddr` bytes directly (family, port, address) rather than formatting and
    /// parsing text: this runs for every datagram received.
    public init?(_ address: SocketAddress) {
        let parsed: Endpoint? = address.withSockAddr { raw, length in
            let bytes = UnsafeRawPointer(raw)
            let port = UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
            switch Int32(raw.pointee.sa_family) {
            case AF_INET where length >= 8:
                return Endpoint(address: .v4(UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self))), port: port)
            case AF_INET6 where length >= 24:
                let hi = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
                let lo = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
                if hi == 0, lo >> 32 == 0xffff { return Endpoint(address: .v4(UInt32(truncatingIfNeeded: lo)), port: port) }
                return Endpoint(address: .v6(hi, lo), port: port)
            default:
                return nil
            }
        }
        guard let parsed else { return nil }
        self = parsed
    }

    /// The NIO socket address for this endpoint.
    public func socketAddress() throws -> SocketAddress {
        try SocketAddress(ipAddress: addressText, port: Int(port))
    }
}
