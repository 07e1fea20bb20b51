/*
 * The KV cache of one session over blocks [a, b), positions [0, n_ctx):
 * what model_forward_blocks attends over, and the memory it works in. A
 * model is shared by every session and thread; a cache belongs to one
 * session and serves one step at a time, so it owns that memory.
 */
#ifndef SWARM_CORE_KV_CACHE_H
#define SWARM_CORE_KV_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct model;
struct model_hparams;

struct kv_cache {
	uint32_t	 block_begin;
	uint32_t	 block_end;
	uint32_t	 n_ctx;
	uint32_t	 kv_dim;	/* n_head_kv * head_dim */
	uint32_t	 n_filled;	/* positions [0, n_filled) hold keys */
	float		*k;		/* [block][n_ctx][kv_dim] */
	float		*v;
	void		*scratch;	/* the forward pass's working memory */
	size_t		 scratch_bytes;
};

struct kv_cache	*kv_cache_new(const struct model *, uint32_t a, uint32_t b,
		    uint32_t n_ctx, char **cause);
void		 kv_cache_free(struct kv_cache *);
size_t		 kv_cache_bytes(const struct model_hparams *, uint32_t n_blocks,
		    uint32_t n_ctx);
/*
 * At least n bytes of working memory, 64-byte aligned, kept for the next
 * step: it grows to the largest batch the cache has seen and never shrinks
 * (a session that sent a long prompt holds that much until it is freed).
 * Its contents are not kept when it grows.
 */
void		*kv_cache_scratch(struct kv_cache *, size_t n, char **cause);

#endif
