// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import PotluckCrypto

/// One job for the sandbox: a wasm32-wasi (preview 1) command module, what it is given, and
/// what it may consume (spec 0014 §2–§3).
///
/// The guest sees `argv = ["job.wasm"] + arguments`, an empty environment, `stdin`, and one
/// preopened directory, `.`, holding `inputFiles`; see spec 0014 §6.
public struct GuestJob: Sendable, Hashable {
    /// The wasm32-wasi (preview 1) binary; it must export `_start`.
    public var module: [UInt8]
    /// `argv[1...]`; `argv[0]` is `"job.wasm"`.
    public var arguments: [String]
    /// The guest's standard input.
    public var stdin: [UInt8]
    /// Files placed in the scratch directory before the guest starts, by flat name
    /// (1…100 bytes of UTF-8, no `/`, no NUL, neither `.` nor `..`).
    public var inputFiles: [String: [UInt8]]
    /// What the guest may consume.
    public var limits: JobLimits

    /// A job with the given parts.
    public init(
        module: [UInt8], arguments: [String] = [], stdin: [UInt8] = [],
        inputFiles: [String: [UInt8]] = [:], limits: JobLimits = JobLimits()
    ) {
        self.module = module
        self.arguments = arguments
        self.stdin = stdin
        self.inputFiles = inputFiles
        self.limits = limits
    }

    /// The job's name: BLAKE2b-256 of `encoded()`.
    public var digest: Bytes32 { Blake2b.hash256(encoded()) }
}

extension GuestJob {
    /// Size bounds that `validate()` enforces (spec 0014 §3).
    public enum Bounds {
        /// The largest module: 64 MiB.
        public static let moduleBytes = 64 << 20
        /// The most arguments.
        public static let argumentCount = 1024
        /// The most bytes of all arguments together.
        public static let argumentBytes = 1 << 20
        /// The largest stdin: 64 MiB.
        public static let stdinBytes = 64 << 20
        /// The most input files.
        public static let inputFileCount = 1000
        /// The most bytes of all input files together: 128 MiB.
        public static let inputFileBytes = 128 << 20
        /// The longest file name in bytes.
        public static let fileNameBytes = 100
        /// The largest encoded job the decoder accepts.
        public static let encodedBytes = moduleBytes + argumentBytes + stdinBytes + inputFileBytes + (1 << 20)
    }

    /// Throws unless names, sizes and limits are in range.
    public func validate() throws(SandboxError) {
        guard !module.isEmpty, module.count <= Bounds.moduleBytes else {
            throw SandboxError(.invalidJob, "the module is \(module.count) bytes; it must hold 1 to \(Bounds.moduleBytes)")
        }
        // The binary format's preamble (WebAssembly Core §5.5.16): magic `\0asm`, version 1.
        guard module.starts(with: [0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00]) else {
            throw SandboxError(.notWebAssembly, "the module is not WebAssembly (a wasm32-wasi module starts with \\0asm and version 1)")
        }
        guard arguments.count <= Bounds.argumentCount else {
            throw SandboxError(.invalidJob, "\(arguments.count) arguments; at most \(Bounds.argumentCount) are allowed")
        }
        let argumentBytes = arguments.reduce(0) { $0 + $1.utf8.count }
        guard argumentBytes <= Bounds.argumentBytes else {
            throw SandboxError(.invalidJob, "the arguments hold \(argumentBytes) bytes; at most \(Bounds.argumentBytes) are allowed")
        }
        if let index = arguments.firstIndex(where: { $0.utf8.contains(0) }) {
            throw SandboxError(.invalidJob, "argument \(index + 1) contains a NUL byte")
        }
        guard stdin.count <= Bounds.stdinBytes else {
            throw SandboxError(.invalidJob, "stdin is \(stdin.count) bytes; at most \(Bounds.stdinBytes) are allowed")
        }
        guard inputFiles.count <= Bounds.inputFileCount else {
            throw SandboxError(.invalidJob, "\(inputFiles.count) input files; at most \(Bounds.inputFileCount) are allowed")
        }
        let fileBytes = inputFiles.values.reduce(0) { $0 + $1.count }
        guard fileBytes <= Bounds.inputFileBytes else {
            throw SandboxError(.invalidJob, "the input files hold \(fileBytes) bytes; at most \(Bounds.inputFileBytes) are allowed")
        }
        for name in inputFiles.keys.sorted() { try Self.validateFileName(name) }
        try limits.validate()
    }

    /// Throws unless `name` is a flat file name: 1…100 bytes, no `/`, no NUL, not `.` or `..`.
    public static func validateFileName(_ name: String) throws(SandboxError) {
        let bytes = Array(name.utf8)
        guard (1...Bounds.fileNameBytes).contains(bytes.count) else {
            throw SandboxError(.invalidJob, "the file name '\(name)' is \(bytes.count) bytes; it must hold 1 to \(Bounds.fileNameBytes)")
        }
        guard !bytes.contains(UInt8(ascii: "/")), !bytes.contains(0) else {
            throw SandboxError(.invalidJob, "the file name '\(name)' contains '/' or NUL; input files are flat names")
        }
        guard name != ".", name != ".." else {
            throw SandboxError(.invalidJob, "the file name '\(name)' names a directory, not a file")
        }
    }
}
