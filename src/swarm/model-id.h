/*
 * A model's id in the swarm: "<name>-<quant>-<hash>". The hash commits to
 * every byte of the file: it is the BLAKE2b of the weights' digest (the
 * shard manifest's, which covers the hash of the header and of every piece
 * of every tensor), 32 hex digits. Peers serving files that differ by one
 * byte announce different ids, and a puller checks the manifest a peer
 * sends against the id it asked for. The digest is computed by whoever
 * holds the whole file (src/shard, once per file: it is cached) and passed
 * down here.
 *
 * Without the digest (a span pulled from an origin URL knows the hashes of
 * the pieces it fetched only), the id is provisional: its hash (12 hex
 * digits) covers the metadata and the tensors' names, types and shapes,
 * not their bytes. Peers meeting under a provisional id trust the origin
 * they pulled from, not each other.
 */
#ifndef SWARM_SWARM_MODEL_ID_H
#define SWARM_SWARM_MODEL_ID_H

#include <stddef.h>
#include <stdint.h>

struct gguf_file;

#define MODEL_ID_WEIGHTS_BYTES	32

/*
 * Writes the id (characters [a-z0-9._-], at most MODEL_ID_MAX - 1 of them)
 * into out: committed to weights (MODEL_ID_WEIGHTS_BYTES, the manifest's
 * digest of the weights), or provisional when weights is NULL. Returns -1
 * when it does not fit in size.
 */
int	model_id_compute(const struct gguf_file *, const uint8_t *weights,
	    char *out, size_t size);

/* Does the id commit to the weights (not a provisional one)? */
int	model_id_committed(const char *id);
/* Is id's hash the one of these weights? */
int	model_id_matches(const char *id,
	    const uint8_t weights[MODEL_ID_WEIGHTS_BYTES]);

/* The model's transformer blocks ("<arch>.block_count"); -1 if absent. */
int	model_id_block_count(const struct gguf_file *, uint32_t *n);

/* Is s shaped like a model id (and not a file name)? */
int	model_id_valid(const char *s);

#endif
