/*
 * The KV cache of one session over a span of blocks: the keys and values of
 * every position so far, and the working memory of the forward pass, kept
 * here because a cache is used by one step at a time while the model is
 * shared by every session on every thread.
 */
#include <stdint.h>
#include <stdlib.h>

#include "core/kv-cache.h"
#include "core/model.h"
#include "util/xmalloc.h"

size_t
kv_cache_bytes(const struct model_hparams *hp, uint32_t n_blocks, uint32_t n_ctx)
{
	return 2 * (size_t)n_blocks * n_ctx * hp->n_head_kv * hp->head_dim *
	    sizeof(float);
}

struct kv_cache *
kv_cache_new(const struct model *m, uint32_t a, uint32_t b, uint32_t n_ctx,
    char **cause)
{
	struct kv_cache *kv;
	size_t n;

	if (a > b || b > m->hp.n_layer) {
		set_cause(cause, "kv cache: blocks %u:%u out of range", a, b);
		return NULL;
	}
	if (n_ctx == 0 || n_ctx > (1u << 20)) {
		set_cause(cause, "kv cache: invalid context length %u", n_ctx);
		return NULL;
	}
	kv = xcalloc(1, sizeof(*kv));
	kv->block_begin = a;
	kv->block_end = b;
	kv->n_ctx = n_ctx;
	kv->kv_dim = m->hp.n_head_kv * m->hp.head_dim;
	n = (size_t)(b - a) * n_ctx * kv->kv_dim;
	kv->k = malloc(n * sizeof(float) + 1);
	kv->v = malloc(n * sizeof(float) + 1);
	if (kv->k == NULL || kv->v == NULL) {
		set_cause(cause, "kv cache: cannot allocate %zu bytes for %u "
		    "positions", 2 * n * sizeof(float), n_ctx);
		kv_cache_free(kv);
		return NULL;
	}
	return kv;
}

void
kv_cache_free(struct kv_cache *kv)
{
	if (kv == NULL)
		return;
	free(kv->k);
	free(kv->v);
	free(kv->scratch);
	free(kv);
}

void *
kv_cache_scratch(struct kv_cache *kv, size_t n, char **cause)
{
	size_t rounded;

	if (n <= kv->scratch_bytes)
		return kv->scratch;
	if (n > SIZE_MAX - 63) {
		set_cause(cause, "kv cache: scratch of %zu bytes too large", n);
		return NULL;
	}
	rounded = (n + 63) & ~(size_t)63;
	free(kv->scratch);
	kv->scratch_bytes = 0;
	if ((kv->scratch = aligned_alloc(64, rounded)) == NULL) {
		set_cause(cause, "kv cache: cannot allocate %zu bytes of "
		    "scratch memory", rounded);
		return NULL;
	}
	kv->scratch_bytes = rounded;
	return kv->scratch;
}
