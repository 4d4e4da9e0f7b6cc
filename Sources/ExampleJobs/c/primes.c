/* Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
 *
 * Example job `primes`: prints how many primes lie below N (argv[1], default 1000000).
 * Usage: primes [N]   (2 <= N <= 400000000) */
#include <stdio.h>
#include <stdlib.h>
#include "primes_kernel.h"

int main(int argc, char **argv) {
    unsigned long limit = 1000000;
    if (argc > 1) {
        char *end = NULL;
        limit = strtoul(argv[1], &end, 10);
        if (end == argv[1] || *end != '\0' || limit < 2 || limit > 400000000UL) {
            fprintf(stderr, "primes: N must be a whole number from 2 to 400000000, not '%s'\n", argv[1]);
            return 2;
        }
    }
    unsigned char *sieve = malloc(limit);
    if (sieve == NULL) {
        fprintf(stderr, "primes: cannot allocate %lu bytes for the sieve\n", limit);
        return 3;
    }
    printf("%u\n", potluck_count_primes_below((uint32_t)limit, sieve));
    free(sieve);
    return 0;
}
