/*
 * What the fuzz targets share. Each tests/fuzz/fuzz-<name>.c defines
 * LLVMFuzzerTestOneInput; built with clang and -fsanitize=fuzzer it is a
 * libFuzzer target (`make fuzz`), linked with driver.c it is a plain program
 * that runs every file of its seed corpus (`make test`).
 */
#ifndef SWARM_FUZZ_H
#define SWARM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The shared test data directory (../shared/models from the repo root). */
static inline const char *
fuzz_models_dir(void)
{
	const char *d = getenv("SWARM_TEST_MODELS");

	return d != NULL ? d : "../shared/models";
}

/*
 * Reads the first and last of n bytes, so that the sanitizer checks that
 * they are there, in a way the compiler cannot drop.
 */
static inline void
fuzz_use(const void *p, size_t n)
{
	const unsigned char *b = p;
	unsigned char x;

	if (n > 0) {
		x = b[0] ^ b[n - 1];
		__asm__ volatile("" : : "r"(x));
	}
}

#endif
