import Bencode
import ControlAPI
import Coordinates
import PotluckCrypto
import Foundation
import Kademlia
import Records
import Synchronization

/// Offers on the DHT (`spec/0011-records.md` §2, `spec/0008-control-api.md`): an offer is a BEP 44
/// mutable item under the lender's key with salt `potluck-offer-0`; the lender announces its
/// overlay port under one topic key per runtime; a borrower looks the topic up, learns each
/// lender's key from its replies (`plk`), and fetches the offer by key.
extension ControlHandler {
    /// The topic under which lenders of `runtime` announce themselves (an info-hash).
    static func offerTopic(runtime: String) -> NodeID {
        NodeID(bytes: SHA1.hash(Array("potluck offers v1 \(runtime)".utf8)))!
    }

    static let offerSalt = Offer.salt(slot: 0)
    /// The value published by `offer withdraw`: not an offer, so readers drop it.
    static let withdrawn = BencodeValue.dictionary([Array("withdrawn".utf8): .integer(1)]).encoded()

    public func publishOffer(_ request: OfferPublishRequest) async throws(APIError) -> OfferPublishResult {
        guard !LendingPause.isPaused(dataDirectory: service.options.dataDirectory) else {
            throw .conflict("lending is paused: resume it from the dashboard (or PUT /v1/lending/paused) to publish the offer")
        }
        guard let bytes = Hex.decode(request.offer) else { throw .badRequest("'offer' must be the encoded offer in hex") }
        var offer: Offer
        do { offer = try Offer(encoded: bytes) } catch { throw .badRequest("the offer is not valid: \(error)") }
        guard offer.lender == service.identity.publicKey else { throw .badRequest("the offer's lender is not this node's identity") }
        // The lender's Vivaldi coordinate rides in the offer: borrowers estimate their latency to
        // it with no extra traffic (spec 0013).
        offer.coordinates = await coordinateComponents()
        // Borrowers need an endpoint they can reach: the mapped or public one once known
        // (spec 0021 §4), never an unspecified bind address.
        if let advertised = service.advertisedJobsEndpoint() { offer.endpoint = advertised }
        let encoded: [UInt8]
        do { encoded = try offer.encoded() } catch { throw .badRequest("the offer is not valid: \(error)") }
        let stored = try await putOwn(encoded)
        guard var port: UInt16? = bound.first?.port else { throw APIError(500, "the node listens nowhere") }
        // Through a tunnel, storing nodes see the relay's address: the announce takes the
        // tunnel's own port (BEP 5 `implied_port`), or it would name the relay's endpoint and
        // stand in for the relay's own offer (spec 0021 §5.4).
        if service.udpBlocked.withLock({ $0.tunnel }) != nil { port = nil }
        var announced = 0
        for runtime in offer.runtimes {
            if case .announced(let count, _) = await run(.announce(Self.offerTopic(runtime: runtime), port: port)) { announced += count }
        }
        return OfferPublishResult(target: stored.target.hex, seq: stored.sequence, announcedOn: announced)
    }

    /// The key `lender` announced with, as the storing nodes reported it; else its answer to a
    /// ping (a lender behind a NAT answers none). Its own function: inlined into `listOffers`,
    /// Swift 6.3's release build gave the loop's async frame too little room for the ping's
    /// event (AddressSanitizer: heap-buffer-overflow in `Mailbox.post`), and the node crashed.
    @inline(never)
    private func lenderKey(_ lender: Endpoint, reported: PublicKey?) async -> PublicKey? {
        if let reported { return reported }
        if case .pong(_, _, let key?) = await run(.ping(lender)) { return key }
        return nil
    }

    public func withdrawOffer() async throws(APIError) -> OfferWithdrawResult {
        let stored = try await putOwn(Self.withdrawn)
        return OfferWithdrawResult(target: stored.target.hex, seq: stored.sequence)
    }

    /// Signs and puts `value` as this node's offer item, one sequence number above the last.
    private func putOwn(_ value: [UInt8]) async throws(APIError) -> MutableItem {
        let target = MutableItem.target(key: service.identity.publicKey, salt: Self.offerSalt)
        let item = MutableItem(signing: value, salt: Self.offerSalt, sequence: await nextSequence(target: target, salt: Self.offerSalt),
                               with: service.identity)
        events.post(.published(.mutable(item)))
        guard case .stored = await run(.put(.mutable(item))) else { throw APIError(503, "no node stored the offer (is the network reachable?)") }
        return item
    }

    /// The live offers of `runtime` with at least `minimumCores`, in the order of the lenders'
    /// endpoints. Each lender's offer is its own BEP 44 lookup, and they run side by side,
    /// ``offerLookupsAtOnce`` at a time: one after another, a borrower waited for the sum of them,
    /// and for every timeout of a dead node they met (seconds each, once a relay had gone away).
    public func listOffers(runtime: String, minimumCores: Int) async throws(APIError) -> OfferList {
        guard case .peers(let lenders, let lookup) = await run(.getPeers(Self.offerTopic(runtime: runtime))) else {
            throw APIError(503, "the offer lookup failed (is the network reachable?)")
        }
        let mine = await coordinateComponents().flatMap(VivaldiCoordinate.init(components:))
        let query = OfferQuery(runtime: runtime, minimumCores: minimumCores, now: Int64(Date().timeIntervalSince1970), mine: mine)
        let unique = Set(lenders).sorted(by: { $0.description < $1.description })
        let found = await withTaskGroup(of: (Int, OfferList.Entry?).self) { group in
            var pending = unique.enumerated().makeIterator()
            let start = { (group: inout TaskGroup<(Int, OfferList.Entry?)>) in
                guard let (index, lender) = pending.next() else { return }
                let reported = lookup.peerKeys[lender]
                group.addTask { (index, await offer(of: lender, reported: reported, query)) }
            }
            for _ in 0..<Self.offerLookupsAtOnce { start(&group) }
            var found = [OfferList.Entry?](repeating: nil, count: unique.count)
            for await (index, entry) in group {
                found[index] = entry
                start(&group)
            }
            return found
        }
        return OfferList(runtime: runtime, offers: found.compactMap { $0 })
    }

    /// How many offer lookups `listOffers` runs at once: enough for a small community's lenders in
    /// one round, few enough that the node's own rate limit and its peers' are not tried.
    static let offerLookupsAtOnce = 8

    /// What `listOffers` asks of every offer.
    struct OfferQuery: Sendable {
        var runtime: String
        var minimumCores: Int
        var now: Int64
        var mine: VivaldiCoordinate?
    }

    /// The live offer of the lender that announced from `lender`, if it matches `query`. Its own
    /// function, like ``lenderKey(_:reported:)``, so that no loop's async frame holds its events.
    @inline(never)
    private func offer(of lender: Endpoint, reported: PublicKey?, _ query: OfferQuery) async -> OfferList.Entry? {
        // The key the lender announced with, as the storing nodes report it (a lender behind a
        // NAT answers no ping); else a ping asks the lender itself.
        guard let key = await lenderKey(lender, reported: reported) else { return nil }
        let target = MutableItem.target(key: key, salt: Self.offerSalt)
        guard case .item(.mutable(let item)?, _, _) = await run(.get(target, salt: Self.offerSalt)),
              let offer = try? Offer(encoded: item.value), offer.lender == key, !offer.isExpired(now: query.now),
              offer.runtimes.contains(query.runtime), offer.cores >= query.minimumCores else { return nil }
        let rtt = query.mine.flatMap { mine in offer.coordinates.flatMap(VivaldiCoordinate.init(components:)).map(mine.distance(to:)) }
        return OfferList.Entry(
            lender: offer.lender.peerID, cores: offer.cores, memoryBytes: offer.memoryBytes, runtimes: offer.runtimes, tools: offer.tools,
            windows: offer.windows.map(\.description), idleOnly: offer.idleOnly, busySince: offer.busySince, endpoint: offer.endpoint, expiry: offer.expiry,
            seq: item.sequence, offer: Hex.encode(item.value), estimatedRttMs: rtt)
    }

    /// This node's Vivaldi coordinate as `[x…, h]` in milliseconds.
    func coordinateComponents() async -> [Double]? {
        await inspect { node in node.vivaldi.coordinate.components }
    }
}
