import CSodium
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A peer's identity on disk: the ed25519 seed, written once, readable by its owner only.
///
/// The format is specified in `spec/0002-identity.md`: three lines of ASCII,
///
///     potluck-identity 1
///     seed <64 hex digits>
///     public <64 hex digits>
///
/// The public line is redundant on purpose: it lets a reader detect a damaged file (the seed must
/// derive exactly that key) and lets a person see whose identity a file holds.
public enum IdentityFile {
    static let header = "potluck-identity 1"

    /// The file's text for `key`.
    static func text(for key: SigningKey) -> String {
        let seed = key.withSeed { Hex.encode($0) }
        return "\(header)\nseed \(seed)\npublic \(key.publicKey.hex)\n"
    }

    /// Creates the file at `path` with mode 0600, never replacing an existing one, and flushes it
    /// to disk before returning. Throws ``IdentityFileError`` with `.exists` if a file is there.
    public static func create(at path: String, key: SigningKey) throws(IdentityFileError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let code = errno
            if code == EEXIST { throw IdentityFileError(.exists, path: path, "an identity already exists") }
            throw IdentityFileError(.io, path: path, "cannot create it: \(String(cString: strerror(code)))")
        }
        defer { close(fd) }
        var bytes = Array(text(for: key).utf8)
        defer { bytes.withUnsafeMutableBytes { sodium_memzero($0.baseAddress, $0.count) } }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(path)
            throw IdentityFileError(.io, path: path, "cannot write it: \(reason)")
        }
    }

    /// Reads and checks the file at `path`.
    public static func load(from path: String) throws(IdentityFileError) -> SigningKey {
        let text = try readSmallFile(path)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 3, lines[0] == header[...] else {
            throw IdentityFileError(.corrupted, path: path, "it does not start with '\(header)'")
        }
        guard lines[1].hasPrefix("seed "), let seed = Hex.decode(lines[1].dropFirst(5)),
              seed.count == SigningKey.seedLength, let key = try? SigningKey(seed: seed) else {
            throw IdentityFileError(.corrupted, path: path, "line 2 is not 'seed' and 64 hex digits")
        }
        guard lines[2] == "public \(key.publicKey.hex)"[...] else {
            throw IdentityFileError(.corrupted, path: path, "the seed does not derive the public key on line 3")
        }
        return key
    }

    private static func readSmallFile(_ path: String) throws(IdentityFileError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { throw IdentityFileError(.missing, path: path, "there is no identity file") }
            throw IdentityFileError(.io, path: path, "cannot read it: \(String(cString: strerror(code)))")
        }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count >= 0 else {
            throw IdentityFileError(.io, path: path, "cannot read it: \(String(cString: strerror(errno)))")
        }
        guard count < buffer.count else {
            throw IdentityFileError(.corrupted, path: path, "it is larger than an identity file can be")
        }
        defer { buffer.withUnsafeMutableBytes { sodium_memzero($0.baseAddress, $0.count) } }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }
}

/// Why an identity file could not be created or read.
public struct IdentityFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Sendable, Hashable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let exists = Code(rawValue: "exists")
        public static let missing = Code(rawValue: "missing")
        public static let corrupted = Code(rawValue: "corrupted")
        public static let io = Code(rawValue: "io")
    }

    public let code: Code
    public let path: String
    public let reason: String

    public init(_ code: Code, path: String, _ reason: String) {
        self.code = code
        self.path = path
        self.reason = reason
    }

    public var description: String {
        switch code {
        case .missing: "no identity at \(path): run 'potluck init' first (or pass the right --data-dir)"
        case .corrupted: "the identity file \(path) is corrupted (\(reason)); restore it from a backup, or move it away and run 'potluck init' to make a new identity"
        default: "identity file \(path): \(reason)"
        }
    }
}
