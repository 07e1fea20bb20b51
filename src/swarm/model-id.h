/*
 * A model's id in the swarm: computed the same way by every peer from the
 * GGUF's metadata and tensor table, so that peers serving different files or
 * quantizations never mix. (Temporary on this branch: the discovery branch
 * provides the real one.)
 */
#ifndef SWARM_SWARM_MODEL_ID_H
#define SWARM_SWARM_MODEL_ID_H

#include <stddef.h>

struct gguf_file;

/* Writes the id (at most MODEL_ID_MAX - 1 characters) into out. */
int	model_id_compute(const struct gguf_file *, char *out, size_t size);

#endif
