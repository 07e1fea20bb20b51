/*
 * Temporary model id for the data-path branch: the architecture and a hash
 * of the tensor table (names, types, shapes). The discovery branch replaces
 * this file with the real one.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/gguf.h"
#include "swarm/model-id.h"

static uint64_t
model_id_hash(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n-- > 0) {
		h ^= *b++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

int
model_id_compute(const struct gguf_file *gf, char *out, size_t size)
{
	uint64_t h = 0xcbf29ce484222325ULL, i;
	struct gguf_str arch;
	char a[32] = "unknown";
	int n;

	if (gguf_get_str(gf, "general.architecture", &arch) == 0 &&
	    arch.len < sizeof(a)) {
		memcpy(a, arch.ptr, arch.len);
		a[arch.len] = '\0';
	}
	for (i = 0; i < gf->n_tensors; i++) {
		const struct gguf_tensor *t = &gf->tensors[i];

		h = model_id_hash(h, t->name, strlen(t->name) + 1);
		h = model_id_hash(h, &t->type, sizeof(t->type));
		h = model_id_hash(h, t->ne, sizeof(t->ne));
	}
	n = snprintf(out, size, "%s-%016llx", a, (unsigned long long)h);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}
