/*
 * Fuzzes a manifest as a peer serves it (GET /shards/ID/manifest): every
 * size, offset, shape and hash is checked by manifest_from_json; what it
 * accepts must lay its pieces inside the file, and must come back the same
 * (same file, same digest) from its own JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "shard/manifest.h"

#include "fuzz.h"

static void
fuzz_check(const struct manifest *m)
{
	struct manifest again;
	char d1[65], d2[65];
	json_t *o;
	size_t i;

	for (i = 0; i < m->n_pieces; i++)
		if (m->pieces[i].offset > m->file_size ||
		    m->pieces[i].size > m->file_size - m->pieces[i].offset ||
		    (i > 0 && m->pieces[i].size > MANIFEST_PIECE_BYTES))
			abort();
	o = manifest_to_json(m);
	if (manifest_from_json(&again, o, NULL) != 0)
		abort();	/* what we accepted, we must read back */
	if (!manifest_same_file(m, &again))
		abort();
	manifest_digest(m, d1, sizeof(d1));
	manifest_digest(&again, d2, sizeof(d2));
	if (strcmp(d1, d2) != 0)
		abort();
	manifest_release(&again);
	json_decref(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest m;
	json_error_t err;
	char *cause = NULL;
	json_t *o;

	if ((o = json_loadb((const char *)data, size, 0, &err)) == NULL)
		return 0;
	if (manifest_from_json(&m, o, &cause) == 0) {
		fuzz_check(&m);
		manifest_release(&m);
	} else {
		if (cause == NULL)
			abort();
		free(cause);
	}
	json_decref(o);
	return 0;
}
