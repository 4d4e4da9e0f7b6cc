// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
//
// The node's one way to start a child (spec 0019 §2): like glibc's posix_spawn, a child that
// shares the parent's memory until it executes (clone with CLONE_VM | CLONE_VFORK on its own
// stack), so spawning costs the same whatever the node's size; but this child also joins the
// task's cgroups, sets its rlimits and gives up root before it executes bubblewrap, which
// spares a shell, setpriv and prlimit — three execs, about 2 ms a task.
//
// The child runs in the parent's address space while the parent's other threads go on, so it
// makes raw system calls only: glibc's setresuid and setgroups would signal every thread of
// the parent to change their ids too (the "setxid broadcast"), and nothing here may take a
// lock another thread could hold.
#define _GNU_SOURCE
#include "potluck_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/// The kernel's `struct sigaction`, large enough for every layout (x86-64 has a restorer
/// field, arm64 not); all zero is SIG_DFL with no flags and an empty mask.
struct kernel_sigaction {
    uintptr_t handler;
    unsigned long flags;
    uintptr_t rest[2];
};

static const size_t stack_size = 64 * 1024;

__attribute__((noreturn)) static void fail(struct potluck_spawn_request *request, int step) {
    request->error = errno;
    request->failed_step = step;
    syscall(SYS_exit_group, 127);
    __builtin_unreachable();
}

static int child(void *argument) {
    struct potluck_spawn_request *request = argument;

    // Every handler back to its default: the parent's handlers are code of the shared address
    // space, and a tool must die of SIGTERM even if the node ignores it.
    struct kernel_sigaction defaults;
    memset(&defaults, 0, sizeof defaults);
    for (int signal = 1; signal < 65; signal++) {
        if (signal != SIGKILL && signal != SIGSTOP) syscall(SYS_rt_sigaction, signal, &defaults, NULL, 8);
    }

    // The cgroups first, while still root: nothing the child starts may run outside them.
    for (int index = 0; index < request->join_count; index++) {
        int fd = (int)syscall(SYS_openat, AT_FDCWD, request->join[index], O_WRONLY | O_CLOEXEC);
        if (fd < 0) fail(request, POTLUCK_SPAWN_JOIN);
        if (syscall(SYS_write, fd, "0", 1) != 1) fail(request, POTLUCK_SPAWN_JOIN);
        syscall(SYS_close, fd);
    }

    if (request->new_process_group && syscall(SYS_setpgid, 0, 0) != 0) fail(request, POTLUCK_SPAWN_GROUP);

    // The descriptors before the limits: a busy node's descriptor numbers may pass the task's
    // RLIMIT_NOFILE. Copy every source above every target first, so that no copy overwrites a
    // source still to come.
    int floor = 3, copies[POTLUCK_SPAWN_MAX_DESCRIPTORS];
    for (int index = 0; index < request->descriptor_count; index++) {
        if (request->descriptors[2 * index] >= floor) floor = request->descriptors[2 * index] + 1;
    }
    for (int index = 0; index < request->descriptor_count; index++) {
        copies[index] = (int)syscall(SYS_fcntl, request->descriptors[2 * index + 1], F_DUPFD_CLOEXEC, floor);
        if (copies[index] < 0) fail(request, POTLUCK_SPAWN_DESCRIPTORS);
    }
    for (int index = 0; index < request->descriptor_count; index++) {
        // dup3 without O_CLOEXEC: the copy survives the exec; the sources do not.
        if (syscall(SYS_dup3, copies[index], request->descriptors[2 * index], 0) < 0) fail(request, POTLUCK_SPAWN_DESCRIPTORS);
    }

    for (int index = 0; index < request->limit_count; index++) {
        struct rlimit limit = {.rlim_cur = request->limits[index].soft, .rlim_max = request->limits[index].hard};
        if (syscall(SYS_prlimit64, 0, request->limits[index].resource, &limit, NULL) != 0) fail(request, POTLUCK_SPAWN_LIMITS);
    }

    if (request->user >= 0) {
        long id = request->user;
        if (syscall(SYS_setgroups, 0, NULL) != 0) fail(request, POTLUCK_SPAWN_USER);
        if (syscall(SYS_setresgid, id, id, id) != 0) fail(request, POTLUCK_SPAWN_USER);
        if (syscall(SYS_setresuid, id, id, id) != 0) fail(request, POTLUCK_SPAWN_USER);
        // Leaving uid 0 cleared the permitted and effective sets; clear the inheritable one too.
        struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
        struct __user_cap_data_struct data[2];
        memset(data, 0, sizeof data);
        if (syscall(SYS_capset, &header, data) != 0) fail(request, POTLUCK_SPAWN_USER);
    }

    uint64_t none = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, 8);
    syscall(SYS_execve, request->path, request->argv, request->envp);
    fail(request, POTLUCK_SPAWN_EXEC);
}

int potluck_spawn(struct potluck_spawn_request *request, pid_t *pid) {
    request->failed_step = POTLUCK_SPAWN_OK;
    request->error = 0;
    if (request->descriptor_count < 0 || request->descriptor_count > POTLUCK_SPAWN_MAX_DESCRIPTORS) {
        request->failed_step = POTLUCK_SPAWN_DESCRIPTORS;
        request->error = EINVAL;
        return EINVAL;
    }
    void *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        request->failed_step = POTLUCK_SPAWN_CLONE;
        request->error = errno;
        return request->error;
    }
    // No signal handler may run in the child while it shares this memory.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_t made = clone(child, (char *)stack + stack_size, CLONE_VM | CLONE_VFORK | SIGCHLD, request);
    int cloneError = errno;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    munmap(stack, stack_size);
    if (made < 0) {
        request->failed_step = POTLUCK_SPAWN_CLONE;
        request->error = cloneError;
        return cloneError;
    }
    if (request->failed_step != POTLUCK_SPAWN_OK) {
        int status;
        while (waitpid(made, &status, 0) < 0 && errno == EINTR) {}
        return request->error;
    }
    *pid = made;
    return 0;
}
