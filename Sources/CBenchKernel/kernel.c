/* Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later. */
#include <stdlib.h>
#include "CBenchKernel.h"
#include "../ExampleJobs/c/primes_kernel.h"

uint32_t potluck_bench_count_primes_below(uint32_t limit) {
    unsigned char *sieve = malloc(limit > 0 ? limit : 1);
    if (sieve == NULL) return UINT32_MAX;
    uint32_t count = potluck_count_primes_below(limit, sieve);
    free(sieve);
    return count;
}
