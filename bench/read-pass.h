/*
 * One pass over bytes with nothing done to them but a sum, asking for
 * them a little ahead: the reading rate of decode's weight stream without
 * its arithmetic. Shared by the benchmarks (bench-model's "read" figure,
 * hop-floor's steps); the sum keeps the compiler from dropping the reads.
 */
#ifndef SWARM_BENCH_READ_PASS_H
#define SWARM_BENCH_READ_PASS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t
read_pass(const uint8_t *p, size_t n)
{
	uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, w[4];
	size_t i;

	for (i = 0; i + 32 <= n; i += 32) {
		__builtin_prefetch(p + i + 1024);
		memcpy(w, p + i, 32);
		a0 += w[0];
		a1 += w[1];
		a2 += w[2];
		a3 += w[3];
	}
	return a0 ^ a1 ^ a2 ^ a3;
}

#endif
