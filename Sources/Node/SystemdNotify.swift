import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Tells systemd how the node is doing, when it runs as a `Type=notify` service: one datagram
/// to `$NOTIFY_SOCKET` per state change (`sd_notify(3)`; no libsystemd needed). Without that
/// variable every call does nothing.
public enum SystemdNotify {
    /// Sends `state` (`READY=1`, `STOPPING=1`, `STATUS=…`, newline-separated); `false` when
    /// there is no systemd to tell or it could not be told.
    @discardableResult
    public static func send(_ state: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        guard var path = environment["NOTIFY_SOCKET"], !path.isEmpty, path.hasPrefix("/") || path.hasPrefix("@") else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let abstract = path.hasPrefix("@")
        if abstract { path.removeFirst() }
        var bytes = Array(path.utf8)
        if abstract { bytes.insert(0, at: 0) }  // Linux's abstract namespace: a leading NUL
        guard bytes.count < 108 else { return false }  // sun_path's size
        // struct sockaddr_un, laid out by hand (see `withSocketAddress(bytes:_:)`): the family
        // (2 bytes, host order), then the path, NUL-terminated unless abstract.
        let raw = withUnsafeBytes(of: sa_family_t(AF_UNIX), Array.init) + bytes + (abstract ? [] : [0])
        let message = Array(state.utf8)
        let sent = withSocketAddress(bytes: raw) { sendto(fd, message, message.count, 0, $0, $1) }
        return sent == message.count
    }
}
