// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A native task's directory on the lender's machine (spec 0019 §2.1):
///
///     ROOT/          mode 0700, owned by the task's user
///       in/NAME      the inputs (hard links or copies), mode 0444 → /job/in (read-only)
///       job/         the task's only writable place     → /job
///         in/        an empty mount point
///         out/       the outputs are the regular files left here
struct TaskDirectory {
    let root: String
    var inputs: String { root + "/in" }
    var job: String { root + "/job" }
    var outputDirectory: String { root + "/job/out" }

    /// Lays the directory out and copies `inputs` (name → host path) into it; with `owner`,
    /// hands the writable parts to that user (the node runs as root, the task as `nobody`).
    init(root parent: String?, inputs files: [String: String], owner: uid_t?) throws(SandboxError) {
        root = try ScratchDirectory.makeTemporaryDirectory(prefix: "potluck-native", in: parent)
        do throws(SandboxError) {
            // chmod after mkdir: modes must not depend on the process's umask (another thread
            // may narrow it for a moment, as the control server does around its bind).
            for path in [inputs, job, job + "/in", outputDirectory] where mkdir(path, 0o700) != 0 || chmod(path, 0o700) != 0 {
                throw SandboxError(.hostFailure, "cannot create \(path): \(ScratchDirectory.lastError())")
            }
            chmod(root, 0o700)
            for (name, source) in files.sorted(by: { $0.key < $1.key }) {
                let destination = inputs + "/" + name
                // A hard link where the file system allows (no copy of a large input; the task sees
                // it through a read-only mount), else a copy.
                if link(source, destination) != 0 {
                    do { try FileManager.default.copyItem(atPath: source, toPath: destination) } catch {
                        throw SandboxError(.hostFailure, "cannot copy the input '\(name)' from \(source): \(error.localizedDescription)")
                    }
                }
                chmod(destination, 0o444)
            }
            chmod(inputs, 0o555)
            if let owner {
                for path in [root, inputs, job, job + "/in", outputDirectory] where chown(path, owner, gid_t(owner)) != 0 {
                    throw SandboxError(.hostFailure, "cannot hand \(path) to user \(owner): \(ScratchDirectory.lastError())")
                }
            }
        } catch {
            ScratchDirectory.removeTree(root)
            throw error
        }
    }

    /// The regular files the task left in `job/out` (flat names only; links, directories and
    /// names a borrower could not write are skipped), taking their bytes from `budget`.
    func outputs(budget: OutputBudget) throws(OutputLimitExceeded) -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        let names = (try? FileManager.default.contentsOfDirectory(atPath: outputDirectory)) ?? []
        for name in names.sorted() where (try? GuestJob.validateFileName(name)) != nil {
            let path = outputDirectory + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            try budget.take(Int(info.st_size))
            let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
            var offset = 0
            while offset < bytes.count {
                let count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + offset, $0.count - offset) }
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { break }
                offset += count
            }
            files[name] = Array(bytes.prefix(offset))
        }
        return files
    }

    /// The regular files the task left in `job/out` (as ``outputs(budget:)`` chooses them),
    /// named and hashed but left on disk; the directory then belongs to the returned value.
    func keep() -> KeptOutputs {
        var files: [KeptOutputs.File] = []
        let names = (try? FileManager.default.contentsOfDirectory(atPath: outputDirectory)) ?? []
        for name in names.sorted() where (try? GuestJob.validateFileName(name)) != nil {
            let path = outputDirectory + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, let (digest, size) = KeptOutputs.hash(file: path) else { continue }
            files.append(KeptOutputs.File(name: name, digest: digest, size: size, path: path))
        }
        return KeptOutputs(files: files, root: root)
    }

    /// Deletes the directory and whatever the task left in it.
    func remove() { ScratchDirectory.removeTree(root) }
}
