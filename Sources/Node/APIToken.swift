import Foundation
import PotluckCrypto

/// The per-user secret that opens the control API on a localhost TCP port (`spec/0008` §1):
/// `DIR/api.token`, 32 random bytes in hex, mode 0600, made at the first start and kept, so a
/// bookmarked dashboard URL stays valid across restarts. Anyone who can read the data directory
/// can drive the node anyway; the token keeps out the machine's other users and web pages.
public enum APIToken {
    public static func path(inDataDirectory directory: String) -> String { directory + "/api.token" }

    /// The token in `directory`, made if there is none.
    public static func loadOrCreate(inDataDirectory directory: String) throws(NodeError) -> String {
        let path = path(inDataDirectory: directory)
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if token.count == 64, Hex.decode(token) != nil { return token }
        }
        let token = Hex.encode(SecureRandom.bytes(32))
        // Created 0600 before a byte is written, and replaced atomically.
        let staged = path + ".new"
        let fd = open(staged, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw NodeError("cannot write \(path): \(String(cString: strerror(errno)))") }
        let line = Array((token + "\n").utf8)
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == line.count, rename(staged, path) == 0 else {
            unlink(staged)
            throw NodeError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        return token
    }

    /// Compares in time independent of where the strings differ.
    public static func matches(_ given: String, _ token: String) -> Bool {
        let a = Array(given.utf8), b = Array(token.utf8)
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
