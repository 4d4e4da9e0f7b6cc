import JobChannel
import Kademlia
import Sandbox

/// How a node runs: where it listens, whom it joins through, and its DHT configuration.
public struct NodeOptions: Sendable {
    /// The node's data directory (identity, database, control socket).
    public var dataDirectory: String
    /// UDP endpoints to listen on; port 0 picks a free port. One IPv4 and one IPv6 at most.
    public var listen: [Endpoint] = [Endpoint(address: .v4(0), port: NodeOptions.defaultPort)]
    /// Potluck nodes to join through (`--bootstrap`): `HOST:PORT`, a name or an address, resolved
    /// at each attempt (``Bootstrapper``).
    public var bootstrap: [String] = []
    /// Whether to find Potluck peers through the public Mainline DHT when nothing else is known.
    public var useDefaultBootstrap = true
    /// The public Mainline DHT routers used for the rendezvous (see ``Rendezvous``).
    public var rendezvousRouters: [String] = Rendezvous.publicRouters
    /// How often the rendezvous announces this node again once it has found peers (BEP 5 peers
    /// expire after 30 minutes on libtorrent nodes).
    public var rendezvousInterval: Duration = .seconds(900)
    /// The DHT state machine's configuration.
    public var dht = DHTNode.Configuration()
    /// How often the driver wakes the state machine to check its timers.
    public var tickInterval: Duration = .milliseconds(50)
    /// How often the routing table is saved when it changed (and at shutdown), so that even a
    /// node killed without warning rejoins from a recent table.
    public var contactSaveInterval: Duration = .seconds(1)

    /// How often the node publishes its receipts and gathers countersignatures its borrowers
    /// owe it (`spec/0011-records.md` Appendix A).
    public var receiptsInterval: Duration = .seconds(300)

    /// The TCP port of the job channel (`spec/0015-job-channel.md`); `nil` tries the DHT's UDP
    /// port number first, then any free port.
    public var jobsPort: Int?
    /// Whether the node lends: it serves the job channel (a node that only borrows needs none).
    public var servesJobs = true
    /// Whether to ask the home router for port mappings (NAT-PMP) when the node listens on an
    /// address that is not loopback and the machine has a default gateway (spec 0021 §3).
    public var mapsPorts = true
    /// Whether this node volunteers to relay for lenders others cannot reach, once it is
    /// reachable itself (spec 0021 §5), and its caps.
    public var relays = false
    public var relayLimits = RelayServer.Limits()
    /// Where the dashboard and the control API listen over TCP (`spec/0008` §1), a localhost
    /// address; port 0 takes any free port. `nil`: the Unix socket only.
    public var http: Endpoint? = Endpoint(address: .v4(0x7f00_0001), port: 0)
    /// How guests run: by default in `potluck-sandbox` found beside the executable; the
    /// `potluck` command runs them in itself (``SandboxRunner/runningExecutableAsChild()``).
    public var sandbox = SandboxRunner()

    /// Potluck's default UDP port (BitTorrent clients use 6881; Potluck stays clear of it).
    public static let defaultPort: UInt16 = 6891

    public init(dataDirectory: String) {
        self.dataDirectory = dataDirectory
    }
}
