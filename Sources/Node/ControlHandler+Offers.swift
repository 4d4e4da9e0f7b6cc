import Bencode
import Coordinates
import PotluckCrypto
import Foundation
import Kademlia
import Records

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

    func publishOffer(_ request: ControlRequest) async throws(NodeError) -> ControlResponse {
        guard let hex = request.params["offer"], let bytes = Hex.decode(hex) else { throw NodeError("missing 'offer' (hex)") }
        var offer: Offer
        do { offer = try Offer(encoded: bytes) } catch { throw NodeError("the offer is not valid: \(error)") }
        guard offer.lender == service.identity.publicKey else { throw NodeError("the offer's lender is not this node's identity") }
        // The lender's Vivaldi coordinate rides in the offer: borrowers estimate their latency to
        // it with no extra traffic (spec 0013).
        offer.coordinates = await coordinateComponents()
        // Borrowers need an endpoint they can reach: the mapped or public one once known
        // (spec 0021 §4), never an unspecified bind address.
        if let advertised = service.advertisedJobsEndpoint() { offer.endpoint = advertised }
        let encoded: [UInt8]
        do { encoded = try offer.encoded() } catch { throw NodeError("the offer is not valid: \(error)") }
        let stored = try await putOwn(encoded)
        guard let port = bound.first?.port else { throw NodeError("the node listens nowhere") }
        var announced = 0
        for runtime in offer.runtimes {
            if case .announced(let count, _) = await run(.announce(Self.offerTopic(runtime: runtime), port: port)) { announced += count }
        }
        return .success(["target": .string(stored.target.hex), "seq": .number(Double(stored.sequence)),
                         "announced_on": .number(Double(announced))])
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

    func withdrawOffer() async throws(NodeError) -> ControlResponse {
        let stored = try await putOwn(Self.withdrawn)
        return .success(["target": .string(stored.target.hex), "seq": .number(Double(stored.sequence))])
    }

    /// Signs and puts `value` as this node's offer item, one sequence number above the last.
    private func putOwn(_ value: [UInt8]) async throws(NodeError) -> MutableItem {
        let target = MutableItem.target(key: service.identity.publicKey, salt: Self.offerSalt)
        let item = MutableItem(signing: value, salt: Self.offerSalt, sequence: await nextSequence(target: target, salt: Self.offerSalt),
                               with: service.identity)
        events.post(.published(.mutable(item)))
        guard case .stored = await run(.put(.mutable(item))) else { throw NodeError("no node stored the offer (is the network reachable?)") }
        return item
    }

    func listOffers(_ request: ControlRequest) async throws(NodeError) -> ControlResponse {
        let runtime = request.params["runtime"] ?? "wasm32-wasi"
        let minimumCores = Int(request.params["cores"] ?? "0") ?? 0
        guard case .peers(let lenders, let lookup) = await run(.getPeers(Self.offerTopic(runtime: runtime))) else {
            throw NodeError("the offer lookup failed (is the network reachable?)")
        }
        let now = Int64(Date().timeIntervalSince1970)
        let mine = await coordinateComponents().flatMap(VivaldiCoordinate.init(components:))
        var offers: [JSONValue] = []
        for lender in Set(lenders).sorted(by: { $0.description < $1.description }) {
            // The key the lender announced with, as the storing nodes report it (a lender behind a
            // NAT answers no ping); else a ping asks the lender itself.
            guard let key = await lenderKey(lender, reported: lookup.peerKeys[lender]) else { continue }
            let target = MutableItem.target(key: key, salt: Self.offerSalt)
            guard case .item(.mutable(let item)?, _, _) = await run(.get(target, salt: Self.offerSalt)),
                  let offer = try? Offer(encoded: item.value), offer.lender == key,
                  !offer.isExpired(now: now), offer.runtimes.contains(runtime), offer.cores >= minimumCores else { continue }
            var json = Self.offerJSON(offer, seq: item.sequence)
            if case .object(var fields) = json { fields["offer"] = .string(Hex.encode(item.value)); json = .object(fields) }  // the full offer, for `potluck match`
            if let mine, let theirs = offer.coordinates.flatMap(VivaldiCoordinate.init(components:)),
               case .object(var fields) = json {
                fields["estimated_rtt_ms"] = .number(mine.distance(to: theirs))
                json = .object(fields)
            }
            offers.append(json)
        }
        return .success(["runtime": .string(runtime), "offers": .array(offers)])
    }

    /// This node's Vivaldi coordinate as `[x…, h]` in milliseconds.
    func coordinateComponents() async -> [Double]? {
        await inspect { node in .array(node.vivaldi.coordinate.components.map(JSONValue.number)) }.arrayValue?.compactMap(\.numberValue)
    }

    static func offerJSON(_ offer: Offer, seq: Int64) -> JSONValue {
        ["lender": .string(offer.lender.peerID), "cores": .number(Double(offer.cores)),
         "memory_bytes": .number(Double(offer.memoryBytes)), "runtimes": .array(offer.runtimes.map(JSONValue.string)),
         "windows": .array(offer.windows.map { .string($0.description) }), "idle_only": .bool(offer.idleOnly),
         "endpoint": .string(offer.endpoint), "expiry": .number(Double(offer.expiry)), "seq": .number(Double(seq))]
    }
}
