/*
 * A model's id in the swarm, computed the same way by every peer from the
 * GGUF's metadata and tensor table: "<name>-<quant>-<hash>", where the hash
 * covers the architecture, its hyper-parameters, the vocabulary size and
 * every tensor's name, type and shape. Peers serving different files,
 * shapes or quantizations never mix; tensor data is not read, so the id of
 * a large file costs nothing.
 */
#ifndef SWARM_SWARM_MODEL_ID_H
#define SWARM_SWARM_MODEL_ID_H

#include <stddef.h>
#include <stdint.h>

struct gguf_file;

/*
 * Writes the id (characters [a-z0-9._-], at most MODEL_ID_MAX - 1 of them)
 * into out. Returns -1 when it does not fit in size.
 */
int	model_id_compute(const struct gguf_file *, char *out, size_t size);

/* The model's transformer blocks ("<arch>.block_count"); -1 if absent. */
int	model_id_block_count(const struct gguf_file *, uint32_t *n);

/* Is s shaped like a model id (and not a file name)? */
int	model_id_valid(const char *s);

#endif
