// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
#ifndef POTLUCK_SPAWN_H
#define POTLUCK_SPAWN_H

#include <sys/types.h>

/// One resource limit the child sets before it executes (`setrlimit`'s resource numbers).
struct potluck_spawn_limit {
    int resource;
    unsigned long long soft;
    unsigned long long hard;
};

/// Where a failed spawn stopped (`potluck_spawn_request.failed_step`).
enum potluck_spawn_step {
    POTLUCK_SPAWN_OK = 0,
    POTLUCK_SPAWN_CLONE = 1,
    POTLUCK_SPAWN_JOIN = 2,
    POTLUCK_SPAWN_LIMITS = 3,
    POTLUCK_SPAWN_USER = 4,
    POTLUCK_SPAWN_GROUP = 5,
    POTLUCK_SPAWN_DESCRIPTORS = 6,
    POTLUCK_SPAWN_EXEC = 7,
};

/// The most descriptors a child may be given (`descriptors` holds twice as many numbers).
#define POTLUCK_SPAWN_MAX_DESCRIPTORS 16

/// What to start, and how the child prepares itself before it executes `path`.
struct potluck_spawn_request {
    const char *path;
    char *const *argv;
    char *const *envp;
    /// Pairs `child, parent`: the child's descriptor `child` is a copy of the parent's `parent`.
    const int *descriptors;
    int descriptor_count;
    /// cgroup-v1 `tasks` files the child writes `0` (itself) to, first of all.
    const char *const *join;
    int join_count;
    const struct potluck_spawn_limit *limits;
    int limit_count;
    /// When >= 0 (and the caller is root): no supplementary groups, real, effective and saved
    /// group and user this id, no inheritable capabilities.
    int user;
    /// Nonzero: the child leads a new process group.
    int new_process_group;
    /// Out: the step that failed (`potluck_spawn_step`) and its errno.
    volatile int failed_step;
    volatile int error;
};

/// Starts a child as `posix_spawn` does (the address space shared until it executes; every
/// signal blocked meanwhile, then reset to its default disposition and unblocked), with the
/// request's steps done in the child in this order: join, process group, descriptors, limits,
/// user, exec. Returns 0 and the pid, or an errno with `failed_step` set (the child,
/// if one was made, already reaped).
int potluck_spawn(struct potluck_spawn_request *request, pid_t *pid);

#endif
