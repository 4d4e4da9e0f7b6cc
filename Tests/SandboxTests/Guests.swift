// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import Sandbox
import WAT

/// Hostile and helper guests, written as WebAssembly text and assembled with WasmKit's `WAT`.
enum Guests {
    static let imports = """
        (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
        (import "wasi_snapshot_preview1" "path_open"
          (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "path_symlink" (func $path_symlink (param i32 i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
        (memory (export "memory") 1)
        """

    static func assemble(_ body: String) -> [UInt8] {
        do { return try wat2wasm("(module \(imports) \(body))") } catch {
            preconditionFailure("test guest does not assemble: \(error)")
        }
    }

    /// Writes "hello\n" to stdout and exits with 3.
    static let hello = assemble("""
        (data (i32.const 16) "hello\\n")
        (func (export "_start")
          (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 6))
          (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
          (call $proc_exit (i32.const 3)))
        """)

    /// Spins forever.
    static let spin = assemble(#"(func (export "_start") (loop $l (br $l)))"#)

    /// Grows memory one MiB at a time until refused, then hits `unreachable`.
    static let memoryBomb = assemble("""
        (func (export "_start")
          (loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
          unreachable)
        """)

    /// Declares 100 pages (6.25 MiB) of initial memory in a second module text.
    static let bigInitialMemory: [UInt8] = {
        do {
            return try wat2wasm(#"(module (memory (export "memory") 100) (func (export "_start")))"#)
        } catch { preconditionFailure("\(error)") }
    }()

    /// Writes "floods\n" to stdout forever.
    static let flood = assemble("""
        (data (i32.const 16) "floods\\n")
        (func (export "_start")
          (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 7))
          (loop $l (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))) (br $l)))
        """)

    /// Traps at once.
    static let trap = assemble(#"(func (export "_start") unreachable)"#)

    /// Tries to open `path` for reading through descriptor `fd` (3 is the scratch directory)
    /// and exits with the errno it got (0 if the open succeeded).
    static func open(_ path: String, fd: Int32 = 3) -> [UInt8] {
        assemble("""
            (data (i32.const 64) "\(path)")
            (func (export "_start")
              (call $proc_exit (call $path_open (i32.const \(fd)) (i32.const 1) (i32.const 64) (i32.const \(path.utf8.count))
                (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 8))))
            """)
    }

    /// Exits with `fd_prestat_get(fd)`'s errno: 0 for a preopened directory, 8 (EBADF) else.
    static func prestat(fd: Int32) -> [UInt8] {
        assemble("""
            (func (export "_start") (call $proc_exit (call $fd_prestat_get (i32.const \(fd)) (i32.const 8))))
            """)
    }

    /// Makes a symbolic link `link` → `/etc/passwd` in the scratch directory, then tries to
    /// open it, following links; exits with the open's errno (0 if it succeeded).
    static let symlinkEscape = assemble("""
        (data (i32.const 64) "/etc/passwd")
        (data (i32.const 96) "link")
        (func (export "_start")
          (drop (call $path_symlink (i32.const 64) (i32.const 11) (i32.const 3) (i32.const 96) (i32.const 4)))
          (call $proc_exit (call $path_open (i32.const 3) (i32.const 1) (i32.const 96) (i32.const 4)
            (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 8))))
        """)
}
