import Foundation

/// UPnP IGD (the Internet Gateway Device protocol most home routers speak): finding the router
/// with SSDP, reading its description for the WAN connection service's control URL, and the SOAP
/// messages that map and unmap a port. Pure text in and out; the node's `UPnPMapper` does the
/// UDP and HTTP (`spec/0021-reachability.md` §3.2).
public enum UPnPIGD {
    /// The SSDP multicast group and port (UPnP Device Architecture 1.1 §1.3).
    public static let ssdpGroup = "239.255.255.250"
    public static let ssdpPort: UInt16 = 1900
    /// The services that map ports, most capable first.
    public static let services = [
        "urn:schemas-upnp-org:service:WANIPConnection:2",
        "urn:schemas-upnp-org:service:WANIPConnection:1",
        "urn:schemas-upnp-org:service:WANPPPConnection:1",
    ]

    /// The M-SEARCH request for internet gateways, answered within `MX` seconds.
    public static let searchRequest = Array((
        "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 2\r\n"
        + "ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n").utf8)

    /// The `LOCATION` header of an SSDP answer: the URL of the device description.
    public static func location(inSearchAnswer answer: String) -> String? {
        for line in answer.split(whereSeparator: { $0 == "\r\n" || $0 == "\n" }) {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces).lowercased() == "location" else { continue }
            return parts[1].trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    /// The first port-mapping service in a device description and its control URL, made
    /// absolute against `base` (the description's own URL) when it is a path.
    public static func controlURL(inDescription xml: String, base: String) -> (service: String, url: String)? {
        for service in services {
            guard let typeRange = xml.range(of: "<serviceType>\(service)</serviceType>") else { continue }
            let rest = xml[typeRange.upperBound...]
            let block = rest.range(of: "</service>").map { rest[..<$0.lowerBound] } ?? rest
            guard let open = block.range(of: "<controlURL>"), let close = block.range(of: "</controlURL>"),
                  open.upperBound <= close.lowerBound else { continue }
            let path = block[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            return (service, absolute(path, base: base))
        }
        return nil
    }

    /// A SOAP request body for `action` of `service` with `arguments` in order.
    public static func soapBody(action: String, service: String, arguments: [(String, String)]) -> String {
        let fields = arguments.map { "<\($0.0)>\(escaped($0.1))</\($0.0)>" }.joined()
        return "<?xml version=\"1.0\"?>\r\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
            + "s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>"
            + "<u:\(action) xmlns:u=\"\(service)\">\(fields)</u:\(action)></s:Body></s:Envelope>\r\n"
    }

    /// The arguments of `AddPortMapping`: `port` outside and inside, for `lease` seconds.
    public static func addPortMapping(port: UInt16, transport: String, internalClient: String, lease: UInt32) -> [(String, String)] {
        [("NewRemoteHost", ""), ("NewExternalPort", String(port)), ("NewProtocol", transport),
         ("NewInternalPort", String(port)), ("NewInternalClient", internalClient), ("NewEnabled", "1"),
         ("NewPortMappingDescription", "potluck"), ("NewLeaseDuration", String(lease))]
    }

    public static func deletePortMapping(port: UInt16, transport: String) -> [(String, String)] {
        [("NewRemoteHost", ""), ("NewExternalPort", String(port)), ("NewProtocol", transport)]
    }

    /// The text of element `name` in a SOAP answer, if present.
    public static func value(of name: String, in xml: String) -> String? {
        guard let open = xml.range(of: "<\(name)>"), let close = xml.range(of: "</\(name)>", range: open.upperBound..<xml.endIndex)
        else { return nil }
        return String(xml[open.upperBound..<close.lowerBound])
    }

    /// A SOAP fault's UPnP error, in words (`errorCode` and `errorDescription`).
    public static func fault(in xml: String) -> String? {
        guard let code = value(of: "errorCode", in: xml) else { return nil }
        return "UPnP error \(code)" + (value(of: "errorDescription", in: xml).map { " (\($0))" } ?? "")
    }

    /// `http://host:port` of a URL (for making a path absolute).
    static func origin(of url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        return String(url[..<scheme.upperBound]) + String(rest.prefix { $0 != "/" })
    }

    private static func absolute(_ path: String, base: String) -> String {
        if path.hasPrefix("http://") || path.hasPrefix("https://") { return path }
        return origin(of: base) + (path.hasPrefix("/") ? path : "/" + path)
    }

    private static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
