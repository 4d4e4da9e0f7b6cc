import Foundation
@testable import Node
import Testing

/// `sd_notify(3)` without libsystemd: the datagram a `Type=notify` unit waits for, received on a
/// real Unix datagram socket as systemd would bind it (a path, or Linux's abstract namespace).
@Suite struct SystemdNotifyTests {
    @Test(arguments: [false, true]) func readyReachesTheNotifySocket(abstract: Bool) throws {
        let name = "potluck-notify-\(UUID().uuidString.prefix(8))"
        let path = abstract ? "@" + name : NSTemporaryDirectory() + name
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd); if !abstract { unlink(path) } }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = abstract ? [0] + Array(name.utf8) : Array(path.utf8) + [0]
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        try #require(bound == 0, "bind: \(String(cString: strerror(errno)))")

        #expect(SystemdNotify.send("READY=1\nSTATUS=listening on 127.0.0.1:6891", environment: ["NOTIFY_SOCKET": path]))
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        #expect(count > 0 && String(decoding: buffer[..<max(0, count)], as: UTF8.self) == "READY=1\nSTATUS=listening on 127.0.0.1:6891")
    }

    @Test func withoutSystemdNothingIsSent() {
        #expect(!SystemdNotify.send("READY=1", environment: [:]))
        #expect(!SystemdNotify.send("READY=1", environment: ["NOTIFY_SOCKET": "relative/path"]))
    }
}
