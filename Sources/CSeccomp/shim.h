// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
// libseccomp for the native sandbox's system-call filter (spec 0019 §2).
#include <seccomp.h>

/// SCMP_ACT_ERRNO(x) is a function-like macro, which Swift does not import.
static inline uint32_t potluck_scmp_act_errno(uint16_t code) { return SCMP_ACT_ERRNO(code); }
