import CMalloc

/// Gives the memory a burst made the node allocate back to the system (`spec/0009` §4): a
/// node that received hundreds of large frames in an attack should not keep their pages.
///
/// glibc serves allocations of at least its mmap threshold with their own mappings, returned
/// on free; but it raises that threshold after each such free (up to 32 MiB), after which large
/// buffers come from heaps it keeps. Fixing the threshold stops that, and a periodic
/// `malloc_trim` returns the free pages of every heap.
enum MemoryReturn {
    /// Buffers of this size and above get their own mapping.
    static let mmapThreshold: Int32 = 256 << 10

    /// Fixes the mmap threshold (once, at node start).
    static func configure() {
        _ = mallopt(M_MMAP_THRESHOLD, mmapThreshold)
    }

    /// Returns free heap pages to the system.
    static func trim() {
        _ = malloc_trim(0)
    }

    /// Trims every `interval` until cancelled.
    static func run(every interval: Duration = .seconds(10)) async throws {
        while !Task.isCancelled {
            try await Task.sleep(for: interval)
            trim()
        }
    }
}
