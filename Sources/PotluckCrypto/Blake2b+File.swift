// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
#if canImport(Glibc)
import Glibc
#endif

extension Blake2b {
    /// The largest read ``hashFile(atPath:followingLinks:)`` makes: memory stays flat for any size.
    public static let fileReadBytes = 1 << 20

    /// BLAKE2b-256 and size of the regular file at `path`, read at most 1 MiB at a time into a
    /// buffer no larger than the file (a 100 KB photo costs no 1 MiB allocation); `nil` when it
    /// cannot be opened or read, or is not a regular file. With `followingLinks` false a
    /// symbolic link is refused (`O_NOFOLLOW`), as for a task's outputs (spec 0020 §5).
    public static func hashFile(atPath path: String, followingLinks: Bool) -> (digest: Bytes32, size: Int64)? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | (followingLinks ? 0 : O_NOFOLLOW))
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        // One byte more than the size, so a file that has not grown ends in a single read.
        let capacity = Int(min(Int64(fileReadBytes), max(Int64(info.st_size) + 1, 4096)))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 64)
        defer { buffer.deallocate() }
        var hasher = Blake2bHasher()
        var size: Int64 = 0
        while true {
            let count = read(fd, buffer.baseAddress!, capacity)
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            size += Int64(count)
        }
        return (hasher.finalize(), size)
    }
}
