/* Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
 *
 * The sieve of Eratosthenes shared by the `primes` example job (compiled to wasm32-wasi) and
 * the native side of `potluck-bench sandbox` (compiled into the CBenchKernel target), so the
 * bench compares the very same C code.
 *
 * `sieve` must hold `limit` bytes. The work depends on `limit`, which is only known at run
 * time, so the compiler cannot fold it away. */
#ifndef POTLUCK_PRIMES_KERNEL_H
#define POTLUCK_PRIMES_KERNEL_H

#include <stdint.h>
#include <string.h>

/* Counts the primes p with 2 <= p < limit. */
static inline uint32_t potluck_count_primes_below(uint32_t limit, unsigned char *sieve) {
    if (limit < 3) return 0;
    memset(sieve, 1, limit);
    sieve[0] = 0;
    sieve[1] = 0;
    for (uint32_t i = 2; (uint64_t)i * i < limit; i++) {
        if (!sieve[i]) continue;
        for (uint32_t j = i * i; j < limit; j += i) sieve[j] = 0;
    }
    uint32_t count = 0;
    for (uint32_t i = 2; i < limit; i++) count += sieve[i];
    return count;
}

#endif
