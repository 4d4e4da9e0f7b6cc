/// One request on the control socket: a method and string parameters (`spec/0008-control-api.md`).
public struct ControlRequest: Sendable, Codable, Equatable {
    public var method: String
    public var params: [String: String]

    public init(method: String, params: [String: String] = [:]) {
        self.method = method
        self.params = params
    }
}

/// One response: `ok` with a result, or not `ok` with an error a person can read.
public struct ControlResponse: Sendable, Codable, Equatable {
    public var ok: Bool
    public var result: JSONValue?
    public var error: String?

    public static func success(_ result: JSONValue) -> ControlResponse { ControlResponse(ok: true, result: result, error: nil) }
    public static func failure(_ message: String) -> ControlResponse { ControlResponse(ok: false, result: nil, error: message) }
}

/// Where a node's control socket lives in its data directory.
public enum ControlSocket {
    public static func path(inDataDirectory directory: String) -> String { directory + "/control.sock" }
    /// Requests and responses are single lines of at most this many bytes.
    public static let maxLineLength = 1 << 20
}
