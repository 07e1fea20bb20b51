/*
 * The model load sequence every runtime shares (the engine of `infer run`
 * and `serve`, and a node): open the GGUF, read its hyper-parameters, check
 * the span of blocks, make the compute pool and load the span's weights
 * with it (repacking needs the pool). Written once so the runtimes cannot
 * drift apart.
 */
#ifndef SWARM_CORE_WEIGHTS_H
#define SWARM_CORE_WEIGHTS_H

#include <stdint.h>

#include "core/model.h"

#define WEIGHTS_ALL	UINT32_MAX	/* as the end: every block */

struct gguf_file;
struct pool;

struct weights {
	struct gguf_file	*gguf;
	struct model_hparams	 hp;
	struct pool		*pool;
	struct model		*model;
};

/*
 * Loads blocks [begin, end) of path (end WEIGHTS_ALL: to the last; begin
 * and end 0: no block, for the embedding and head alone) with model_load
 * flags, on a pool of threads (<= 0: every core). On error everything is
 * released and *cause set.
 */
int	weights_open(struct weights *, const char *path, uint32_t begin,
	    uint32_t end, int flags, int threads,
	    const struct model_progress *progress, char **cause);
void	weights_release(struct weights *);

#endif
