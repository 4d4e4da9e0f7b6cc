// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fresh private directory (`mkdtemp` under `$TMPDIR`, mode 0700) holding a job's input
/// files; the guest's only view of the host file system. `remove()` deletes it and everything
/// the guest put in it.
struct ScratchDirectory {
    let path: String
    private let inputs: [String: [UInt8]]

    /// Creates the directory and writes `inputFiles` into it (names already validated).
    init(inputFiles: [String: [UInt8]]) throws(SandboxError) {
        path = try Self.makeTemporaryDirectory(prefix: "potluck-job")
        inputs = inputFiles
        for (name, bytes) in inputFiles {
            do { try Self.writeFile(bytes, to: path + "/" + name) } catch {
                Self.removeTree(path)
                throw error
            }
        }
    }

    /// Regular files at the top of the directory that are new or differ from the inputs,
    /// taking their bytes from `budget`; throws `OutputLimitExceeded` when they do not fit.
    /// Symbolic links are never followed.
    func changedFiles(budget: OutputBudget) throws(OutputLimitExceeded) -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        for name in Self.entries(of: path).sorted() where (try? GuestJob.validateFileName(name)) != nil {
            guard let size = Self.regularFileSize(path + "/" + name) else { continue }
            if let input = inputs[name], input.count == size, Self.readFile(path + "/" + name, limit: size) == input { continue }
            try budget.take(size)
            guard let bytes = Self.readFile(path + "/" + name, limit: size) else { continue }
            files[name] = bytes
        }
        return files
    }

    /// Creates a fresh directory `$TMPDIR/PREFIX-XXXXXX` (mode 0700) and returns its path.
    static func makeTemporaryDirectory(prefix: String, in root: String? = nil) throws(SandboxError) -> String {
        var base = root ?? getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        if base.isEmpty { base = "/tmp" }
        var template = Array((base + "/" + prefix + "-XXXXXX").utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard created != nil else {
            throw SandboxError(.hostFailure, "cannot create a directory under \(base): \(Self.lastError())")
        }
        return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// Deletes the directory and its whole contents.
    func remove() { Self.removeTree(path) }

    // MARK: - POSIX helpers

    static func lastError() -> String { String(cString: strerror(errno)) }

    private static func writeFile(_ bytes: [UInt8], to path: String) throws(SandboxError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SandboxError(.hostFailure, "cannot create \(path): \(lastError())") }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { throw SandboxError(.hostFailure, "cannot write \(path): \(lastError())") }
            offset += written
        }
    }

    /// The size of a regular file, or `nil` for anything else (links, directories, devices).
    private static func regularFileSize(_ path: String) -> Int? {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        return Int(info.st_size)
    }

    /// Reads at most `limit` bytes of a regular file without following links.
    private static func readFile(_ path: String, limit: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: limit)
        var offset = 0
        while offset < limit {
            let count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + offset, limit - offset) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            offset += count
        }
        return Array(bytes.prefix(offset))
    }

    /// Names in a directory, without `.` and `..`.
    private static func entries(of path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    /// Removes `path` and everything below it, never following symbolic links.
    static func removeTree(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFDIR {
            chmod(path, 0o700)  // a guest or task may have left a directory it cannot be emptied through
            for name in entries(of: path) { removeTree(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
