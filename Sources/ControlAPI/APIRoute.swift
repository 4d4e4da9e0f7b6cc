import Foundation

/// The HTTP verbs the control API uses.
public enum HTTPVerb: String, Sendable {
    case get = "GET", post = "POST", put = "PUT", delete = "DELETE"
}

/// The control API's paths (`spec/0008-control-api.md` §3); the server's routes and the client's
/// calls both come from here.
public enum APIPath {
    public static let node = "/v1/node"
    public static let dht = "/v1/dht"
    public static let ping = "/v1/dht/ping"
    public static let lookup = "/v1/dht/lookup"
    /// `POST` stores; `GET …/items/{target}` fetches.
    public static let items = "/v1/dht/items"
    /// This node's own offer: `PUT` publishes, `DELETE` withdraws.
    public static let offer = "/v1/offer"
    /// Others' offers, found through the DHT.
    public static let offers = "/v1/offers"
    public static let receiptsPublish = "/v1/receipts/publish"
    public static let receiptsSync = "/v1/receipts/sync"
    public static let runningJobs = "/v1/jobs/running"
    /// What this machine lends, and the pause switch.
    public static let lending = "/v1/lending"
    public static let lendingPaused = "/v1/lending/paused"
    public static let lendingPolicy = "/v1/lending/policy"
    public static let jobHistory = "/v1/jobs/history"
    public static let trust = "/v1/trust"
    /// Server-sent events: a `snapshot` of the node every 2 s, for the dashboard.
    public static let events = "/v1/events"
    /// Detached jobs: `POST` submits, `GET` lists, `GET …/{id}` shows, `POST …/{id}/cancel` cancels.
    public static let batches = "/v1/batches"
}

/// One call of the control API: verb, path with its parameters filled in, JSON body, and the
/// type of the answer. Built by the static members below, so a call cannot pair a path with the
/// wrong body or answer.
public struct APIRoute<Answer: Decodable & Sendable>: Sendable {
    public var verb: HTTPVerb
    public var path: String
    public var body: [UInt8]?

    init(_ verb: HTTPVerb, _ path: String) {
        self.verb = verb
        self.path = path
    }

    init(_ verb: HTTPVerb, _ path: String, body: some Encodable) {
        self.init(verb, path)
        self.body = Array(try! APICoding.encoder.encode(body))  // the API's own types always encode
    }

    /// `value` as one path segment or query value: everything but unreserved characters
    /// (RFC 3986 §2.3) percent-encoded.
    static func escaped(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: unreservedCharacters) ?? value
    }
}

private let unreservedCharacters = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

/// The encoder and decoder both sides use: snake_case keys, as every `--json` output of the CLI
/// (`peerID` is `peer_id`, `rttMs` is `rtt_ms`), sorted. Dictionary keys are data and stay as they are.
public enum APICoding {
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return encoder
    }

    /// Foundation's `convertFromSnakeCase` would read `peer_id` as `peerId`; this reads the
    /// `id` word as `ID`, the one initialism the API's names use.
    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .custom { path in SnakeKey(camelCaseOf: path.last?.stringValue ?? "") }
        return decoder
    }

    struct SnakeKey: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }

        init(camelCaseOf snake: String) {
            guard snake.utf8.contains(UInt8(ascii: "_")) else {
                stringValue = snake
                return
            }
            let words = snake.split(separator: "_", omittingEmptySubsequences: false)
            stringValue = String(words.first ?? "") + words.dropFirst().map { $0 == "id" ? "ID" : $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
        }
    }
}

extension APIRoute where Answer == NodeInfo {
    public static var nodeInfo: Self { Self(.get, APIPath.node) }
}

extension APIRoute where Answer == DHTStatus {
    public static var dhtStatus: Self { Self(.get, APIPath.dht) }
}

extension APIRoute where Answer == PingResult {
    public static func ping(_ endpoint: String) -> Self { Self(.post, APIPath.ping, body: PingRequest(endpoint: endpoint)) }
}

extension APIRoute where Answer == LookupAnswer {
    public static func lookup(_ target: String) -> Self { Self(.post, APIPath.lookup, body: LookupRequest(target: target)) }
}

extension APIRoute where Answer == PutResult {
    public static func put(_ request: PutRequest) -> Self { Self(.post, APIPath.items, body: request) }
}

extension APIRoute where Answer == ItemResult {
    public static func item(_ target: String, salt: String? = nil) -> Self {
        Self(.get, APIPath.items + "/" + escaped(target) + (salt.map { "?salt=" + escaped($0) } ?? ""))
    }
}

extension APIRoute where Answer == OfferPublishResult {
    public static func publishOffer(hex: String) -> Self { Self(.put, APIPath.offer, body: OfferPublishRequest(offer: hex)) }
}

extension APIRoute where Answer == OfferWithdrawResult {
    public static var withdrawOffer: Self { Self(.delete, APIPath.offer) }
}

extension APIRoute where Answer == OfferList {
    public static func offers(runtime: String, cores: Int = 0) -> Self {
        Self(.get, APIPath.offers + "?runtime=" + escaped(runtime) + "&cores=\(cores)")
    }
}

extension APIRoute where Answer == ReceiptsPublishResult {
    public static var publishReceipts: Self { Self(.post, APIPath.receiptsPublish) }
}

extension APIRoute where Answer == ReceiptsSyncResult {
    public static func syncReceipts(peer: String) -> Self { Self(.post, APIPath.receiptsSync, body: ReceiptsSyncRequest(peer: peer)) }
}

extension APIRoute where Answer == RunningJobs {
    public static var runningJobs: Self { Self(.get, APIPath.runningJobs) }
}

extension APIRoute where Answer == BatchList {
    public static var batches: Self { Self(.get, APIPath.batches) }
}

extension APIRoute where Answer == BatchRecord {
    public static func submitBatch(path: String, replicas: Int = 1) -> Self {
        Self(.post, APIPath.batches, body: BatchSubmitRequest(path: path, replicas: replicas == 1 ? nil : replicas))
    }
    public static func batch(_ id: String) -> Self { Self(.get, APIPath.batches + "/" + escaped(id)) }
    public static func cancelBatch(_ id: String) -> Self { Self(.post, APIPath.batches + "/" + escaped(id) + "/cancel") }
}
