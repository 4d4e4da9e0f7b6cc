import Crypto
import Kademlia

/// Finding Potluck peers with no configuration, through the public Mainline DHT: the node asks
/// the well-known routers' network for the peers announced under Potluck's rendezvous topic
/// (BEP 5 `get_peers`), announces itself there (`announce_peer` with its overlay port), and
/// joins the Potluck overlay through the peers it found. The public DHT is a meeting point only:
/// Potluck's items never go there.
public enum Rendezvous {
    /// The public DHT's well-known bootstrap routers.
    public static let publicRouters = ["router.bittorrent.com:6881", "dht.transmissionbt.com:6881", "router.utorrent.com:6881"]

    /// The rendezvous topic: SHA-1 of a fixed, versioned string (an info-hash on the public DHT).
    public static let topic = NodeID(bytes: SHA1.hash(Array("potluck rendezvous v1".utf8)))!
}
