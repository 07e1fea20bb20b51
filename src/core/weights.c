/*
 * The model load sequence (weights.h).
 */
#include <string.h>

#include "core/gguf.h"
#include "core/model.h"
#include "core/pool.h"
#include "core/weights.h"
#include "util/xmalloc.h"

int
weights_open(struct weights *w, const char *path, uint32_t begin,
    uint32_t end, int flags, int threads,
    const struct model_progress *progress, char **cause)
{
	memset(w, 0, sizeof(*w));
	if ((w->gguf = gguf_open(path, cause)) == NULL ||
	    model_read_hparams(w->gguf, &w->hp, cause) != 0)
		goto fail;
	if (end == WEIGHTS_ALL)
		end = w->hp.n_layer;
	if (end > w->hp.n_layer || begin > end || (begin == end &&
	    end != 0)) {
		set_cause(cause, "blocks %u:%u out of range: '%s' has %u",
		    begin, end, path, w->hp.n_layer);
		goto fail;
	}
	w->pool = pool_new(threads);
	if ((w->model = model_load_progress(w->gguf, begin, end, flags,
	    w->pool, progress, cause)) == NULL)
		goto fail;
	return 0;
fail:
	weights_release(w);
	return -1;
}

void
weights_release(struct weights *w)
{
	model_free(w->model);
	pool_free(w->pool);
	gguf_close(w->gguf);
	memset(w, 0, sizeof(*w));
}
