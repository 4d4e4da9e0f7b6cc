// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
import CSeccomp
#if canImport(Glibc)
import Glibc
#endif

/// The system-call filter every native task runs under (spec 0019 §2.3), compiled to a
/// classic BPF program with libseccomp and handed to bubblewrap (`--seccomp FD`), which
/// installs it just before it starts the tool.
///
/// Everything is allowed except what no photo or render tool needs and what a sandbox escape
/// would: debugging other processes, mounting, kernel keyrings, BPF, perf, loading kernels or
/// modules, new namespaces, swap, reboot, and typing into the terminal (`TIOCSTI`). Those fail
/// with `EPERM`; `clone3` fails with `ENOSYS` so that libc falls back to `clone`, whose flags
/// the filter can read. The same list as Flatpak's and bubblewrap's own examples, in spirit.
public enum SeccompFilter {
    /// System calls that fail with `EPERM`.
    public static let deniedCalls = [
        "ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
        "mount", "umount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount",
        "fspick", "mount_setattr",
        "keyctl", "add_key", "request_key",
        "bpf", "perf_event_open", "userfaultfd",
        "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
        "unshare", "setns",
        "swapon", "swapoff", "reboot", "acct", "quotactl", "syslog", "uselib",
        "open_by_handle_at", "name_to_handle_at",
    ]

    /// The namespace flags `clone` may not carry.
    static let namespaceFlags: UInt64 = 0x1000_0000 /* NEWUSER */ | 0x0002_0000 /* NEWNS */ | 0x2000_0000 /* NEWPID */
        | 0x4000_0000 /* NEWNET */ | 0x0400_0000 /* NEWUTS */ | 0x0800_0000 /* NEWIPC */ | 0x0200_0000 /* NEWCGROUP */

    /// The compiled BPF program (made once per process).
    public static func program() throws(SandboxError) -> [UInt8] {
        switch compiled {
        case .success(let bytes): return bytes
        case .failure(let error): throw error
        }
    }

    private static let compiled: Result<[UInt8], SandboxError> = Result { () throws(SandboxError) in try compile() }

    private static func compile() throws(SandboxError) -> [UInt8] {
        guard let context = seccomp_init(SCMP_ACT_ALLOW) else {
            throw SandboxError(.hostFailure, "libseccomp cannot start a filter")
        }
        defer { seccomp_release(context) }
        let eperm = potluck_scmp_act_errno(UInt16(EPERM))
        for name in deniedCalls {
            let number = seccomp_syscall_resolve_name(name)
            guard number != __NR_SCMP_ERROR else { continue }  // not on this architecture
            try check(seccomp_rule_add_array(context, eperm, number, 0, nil), "deny \(name)")
        }
        var flags = scmp_arg_cmp(arg: 0, op: SCMP_CMP_MASKED_EQ, datum_a: namespaceFlags, datum_b: 0)
        // Allowed only when none of the namespace bits is set: deny when (flags & mask) != 0,
        // written as one rule per bit (libseccomp compares with equality).
        for bit in 0..<64 where namespaceFlags & (1 << UInt64(bit)) != 0 {
            flags = scmp_arg_cmp(arg: 0, op: SCMP_CMP_MASKED_EQ, datum_a: 1 << UInt64(bit), datum_b: 1 << UInt64(bit))
            try check(seccomp_rule_add_array(context, eperm, seccomp_syscall_resolve_name("clone"), 1, &flags), "filter clone")
        }
        let clone3 = seccomp_syscall_resolve_name("clone3")
        if clone3 != __NR_SCMP_ERROR {
            try check(seccomp_rule_add_array(context, potluck_scmp_act_errno(UInt16(ENOSYS)), clone3, 0, nil), "deny clone3")
        }
        var tiocsti = scmp_arg_cmp(arg: 1, op: SCMP_CMP_MASKED_EQ, datum_a: 0xFFFF_FFFF, datum_b: UInt64(TIOCSTI))
        try check(seccomp_rule_add_array(context, eperm, seccomp_syscall_resolve_name("ioctl"), 1, &tiocsti), "filter ioctl")

        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw SandboxError(.hostFailure, "cannot create a pipe: \(ScratchDirectory.lastError())") }
        defer { close(ends[0]) }
        let exported = seccomp_export_bpf(context, ends[1])
        close(ends[1])
        try check(exported, "export the filter")
        var program: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(ends[0], $0.baseAddress!, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            program += buffer.prefix(count)
        }
        guard !program.isEmpty, program.count % 8 == 0 else {
            throw SandboxError(.hostFailure, "libseccomp exported a filter of \(program.count) bytes")
        }
        return program
    }

    private static func check(_ code: Int32, _ what: String) throws(SandboxError) {
        guard code == 0 else {
            throw SandboxError(.hostFailure, "libseccomp cannot \(what): \(String(cString: strerror(-code)))")
        }
    }
}
