/* Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
 * The native side of `potluck-bench sandbox`: the same sieve as the `primes` example job. */
#ifndef POTLUCK_CBENCHKERNEL_H
#define POTLUCK_CBENCHKERNEL_H

#include <stdint.h>

/* Counts the primes below `limit` with a sieve of `limit` bytes allocated here. Returns
 * UINT32_MAX if the sieve cannot be allocated. */
uint32_t potluck_bench_count_primes_below(uint32_t limit);

#endif
