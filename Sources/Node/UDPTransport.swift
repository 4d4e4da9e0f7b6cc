import Kademlia
import NIOCore
import NIOPosix

/// The node's UDP socket (SwiftNIO): binds an address, hands inbound datagrams to the owner and
/// sends outbound ones. Oversized datagrams are dropped before they reach the DHT core.
public struct UDPTransport: Sendable {
    public typealias Channel = NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>

    /// Binds `endpoint` (port 0 picks a free port).
    public static func bind(_ endpoint: Endpoint, group: any EventLoopGroup, maxDatagramSize: Int) async throws -> Channel {
        try await DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: maxDatagramSize + 1))
            .bind(host: endpoint.addressText, port: Int(endpoint.port)) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(
                        wrappingChannelSynchronously: channel)
                }
            }
    }
}

extension Endpoint {
    /// Converts a NIO socket address (IPv4 or IPv6) to an endpoint; `nil` for Unix sockets.
    /// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) becomes the IPv4 peer it stands for.
    public init?(_ address: SocketAddress) {
        guard let port = address.port, let text = address.ipAddress else { return nil }
        let lowered = text.lowercased()
        if lowered.hasPrefix("::ffff:"), let v4 = Endpoint.parseAddress(String(text.dropFirst(7))), case .v4 = v4 {
            self.init(address: v4, port: UInt16(port))
            return
        }
        guard let parsed = Endpoint.parseAddress(text) else { return nil }
        self.init(address: parsed, port: UInt16(port))
    }

    /// The NIO socket address for this endpoint.
    public func socketAddress() throws -> SocketAddress {
        try SocketAddress(ipAddress: addressText, port: Int(port))
    }
}
