// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.

/// Datagrams through a relay (`spec/0021-reachability.md` §5.4), for a node on a network that
/// blocks UDP: it carries its DHT datagrams over one TCP connection to a relay, which sends them
/// from a UDP socket of its own and passes back the replies — TURN over TCP (RFC 8656, RFC 6062)
/// cut down to what a BEP 43 read-only DHT node needs.
///
/// - **open** (`N` → relay `R`): `PLRU ‖ key_N (32)`; `R → N` a 32-byte nonce; `N → R`
///   `sig (64)` = Ed25519 over ``domain`` `‖ nonce ‖ key_N`; `R → N` one status byte
///   (``RelayWire/Status``) and, on `spliced`, the 18-byte endpoint of the UDP socket it bound
///   for `N` (where others see `N`'s datagrams come from).
/// - then **frames** both ways: `endpoint (18) ‖ length (2, big-endian) ‖ datagram`. From `N`:
///   send this datagram to that endpoint; from `R`: this datagram came from that endpoint. A
///   frame with the all-zero endpoint and length 0 is a keep-alive.
/// - a tunnel opened with ``receiptsTag`` (`PLRV`) instead also carries receipts (§5.5): a frame
///   with the all-zero endpoint and a body is a *control frame*, its first byte a tag — from `R`
///   a proposal (`P ‖ receipt`), from `N` the receipt signed by both (`A ‖ receipt`) or a refusal
///   (`X ‖ reason`). A relay that predates them closes a `PLRV` connection unanswered; the node
///   then opens with `PLRU`.
public enum TunnelWire {
    public static let tag: [UInt8] = Array("PLRU".utf8)
    /// Opens a tunnel that carries receipts too.
    public static let receiptsTag: [UInt8] = Array("PLRV".utf8)
    public static let domain: [UInt8] = Array("potluck relay datagrams v1".utf8)
    /// The largest datagram a frame carries (a UDP payload over IPv4 in one Ethernet frame).
    public static let maxDatagram = 1472
    static let headerSize = RelayWire.endpointSize + 2
    public static let keepAlive = [UInt8](repeating: 0, count: headerSize)

    /// What a node signs to open a tunnel.
    public static func openMessage(nonce: [UInt8], key: [UInt8]) -> [UInt8] { domain + nonce + key }

    /// One datagram, framed; `nil` if it is empty or larger than ``maxDatagram``.
    public static func frame(_ datagram: [UInt8], endpoint: WireEndpoint) -> [UInt8]? {
        guard !datagram.isEmpty, datagram.count <= maxDatagram else { return nil }
        return WireEndpoint.encode(endpoint) + [UInt8(datagram.count >> 8), UInt8(datagram.count & 0xFF)] + datagram
    }

    /// A control frame: `tag ‖ body` after the all-zero endpoint (at most
    /// ``RelayWire/maxReceiptFrame`` bytes of body).
    public static func control(_ tag: UInt8, _ body: [UInt8]) -> [UInt8] {
        let body = [tag] + body.prefix(RelayWire.maxReceiptFrame)
        return [UInt8](repeating: 0, count: RelayWire.endpointSize) + [UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
    }

    public enum Frame: Equatable, Sendable {
        case datagram([UInt8], WireEndpoint)
        case keepAlive
        /// A control frame's tag and body (only in a tunnel that carries receipts).
        case control(UInt8, [UInt8])
    }

    /// Cuts a byte stream into frames, however the stream was split.
    public struct Decoder: Sendable {
        private var buffer: [UInt8] = []
        private var start = 0
        private let receipts: Bool

        /// A decoder for a tunnel opened with ``TunnelWire/tag``, or with `receipts` one opened
        /// with ``TunnelWire/receiptsTag`` (its control frames are let through).
        public init(receipts: Bool = false) { self.receipts = receipts }

        public mutating func push(_ bytes: some Sequence<UInt8>) { buffer.append(contentsOf: bytes) }

        /// The next whole frame, or `nil` until more bytes arrive. Throws on a frame no peer may
        /// send: a datagram over ``maxDatagram``, one without an endpoint, a keep-alive with a
        /// body (unless control frames are let through), or a control frame over
        /// ``RelayWire/maxReceiptFrame``.
        public mutating func next() throws(ChannelError) -> Frame? {
            guard buffer.count - start >= headerSize else { return nil }
            let header = buffer[start..<start + headerSize]
            let length = Int(header[header.endIndex - 2]) << 8 | Int(header[header.endIndex - 1])
            let endpoint = WireEndpoint(header.prefix(RelayWire.endpointSize))
            let control = receipts && endpoint == nil && length > 0
            if control {
                guard length <= RelayWire.maxReceiptFrame + 1 else { throw ChannelError(.frameTooLarge, "a tunnel control frame of \(length) bytes") }
            } else {
                guard length <= maxDatagram else { throw ChannelError(.frameTooLarge, "a tunnelled datagram of \(length) bytes (at most \(maxDatagram))") }
                guard (endpoint == nil) == (length == 0) else { throw ChannelError(.io, "a tunnel frame without an endpoint or without a datagram") }
            }
            guard buffer.count - start >= headerSize + length else { return nil }
            let body = Array(buffer[start + headerSize..<start + headerSize + length])
            start += headerSize + length
            if start == buffer.count || start > 65_536 {
                buffer.removeFirst(start)
                start = 0
            }
            if control { return .control(body[0], Array(body.dropFirst())) }
            guard let endpoint else { return .keepAlive }
            return .datagram(body, endpoint)
        }
    }
}

/// The relay's rules for one tunnel (`spec/0021` §5.4), sans I/O: the node may send at most
/// ``Limits/perSecond`` datagrams a second (bursts of ``Limits/burst``); a datagram from outside
/// is passed on only from an endpoint the node sent to within ``Limits/permission`` — as TURN's
/// permissions do, so the relay lets in replies, not strangers, and the node stays a BEP 43
/// read-only one behind it. Time is the caller's clock, as a `Duration` since any origin.
public struct TunnelGate: Sendable {
    public struct Limits: Sendable, Equatable {
        public var perSecond = 64
        public var burst = 256
        public var permission: Duration = .seconds(300)
        /// Endpoints remembered at once; a full gate lets the node write only to those.
        public var endpoints = 4096
        public init() {}
    }

    public let limits: Limits
    private var permitted: [WireEndpoint: Duration] = [:]
    private var tokens: Double
    private var refilled: Duration

    public init(limits: Limits = Limits(), now: Duration) {
        self.limits = limits
        tokens = Double(limits.burst)
        refilled = now
    }

    /// Whether the node may send a datagram to `endpoint` now; if so, replies from it are let in.
    public mutating func send(to endpoint: WireEndpoint, now: Duration) -> Bool {
        let elapsed = now - refilled
        refilled = now
        tokens = min(Double(limits.burst), tokens + Double(limits.perSecond) * (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18))
        guard tokens >= 1 else { return false }
        if permitted[endpoint] == nil, permitted.count >= limits.endpoints {
            permitted = permitted.filter { $0.value > now }
            guard permitted.count < limits.endpoints else { return false }
        }
        tokens -= 1
        permitted[endpoint] = now + limits.permission
        return true
    }

    /// Whether a datagram from `endpoint` goes to the node.
    public func lets(in endpoint: WireEndpoint, now: Duration) -> Bool {
        (permitted[endpoint] ?? .zero) > now
    }
}
