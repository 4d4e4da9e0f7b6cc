/// The answer to every request that fails, whatever the endpoint (`spec/0008-control-api.md` §2):
/// the HTTP status, repeated in the body, and one sentence a person can act on.
public struct APIError: Error, Codable, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var error: String

    public init(_ status: Int, _ error: String) {
        self.status = status
        self.error = error
    }

    public var description: String { error }

    /// 400: the request names something that cannot be (a malformed id, a body that does not decode).
    public static func badRequest(_ message: String) -> APIError { APIError(400, message) }
    /// 404: what the request names is not there (an item, a job, a route).
    public static func notFound(_ message: String) -> APIError { APIError(404, message) }
    /// 409: the node cannot do it in its present state (no jobs served, nothing stored the item).
    public static func conflict(_ message: String) -> APIError { APIError(409, message) }
}
