/*
 * Generation loop and the in-process backend. Text is released to the
 * caller only when it can no longer turn out to be the start of a stop
 * string, so a stop string never leaks into the output.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/generate.h"
#include "core/model.h"
#include "core/pool.h"
#include "core/tokenizer.h"
#include "util/strbuf.h"
#include "util/clock.h"
#include "util/xmalloc.h"

void
generate_params_init(struct generate_params *p)
{
	memset(p, 0, sizeof(*p));
	p->max_tokens = -1;
	sampler_params_default(&p->sampling);
}

void
generate_result_release(struct generate_result *r)
{
	free(r->tokens);
	free(r->text);
	memset(r, 0, sizeof(*r));
}

/*
 * Finds the earliest stop string in text[0..len). Returns its offset, or
 * len when there is none; *hold gets how many trailing bytes might still
 * begin a stop string.
 */
static size_t
generate_find_stop(const struct generate_params *p, const char *text,
    size_t len, size_t *hold)
{
	size_t best = len, l, k;
	const char *hit;
	int s;

	*hold = 0;
	for (s = 0; s < p->n_stop; s++) {
		l = strlen(p->stop[s]);
		if (l == 0)
			continue;
		hit = memmem(text, len, p->stop[s], l);
		if (hit != NULL && (size_t)(hit - text) < best)
			best = hit - text;
		for (k = l - 1; k > 0; k--) {
			if (k > len)
				continue;
			if (memcmp(text + len - k, p->stop[s], k) == 0) {
				if (k > *hold)
					*hold = k;
				break;
			}
		}
	}
	return best;
}

int
generate_run(const struct generate_backend *be, const struct tokenizer *tok,
    const int32_t *prompt, size_t n_prompt, const struct generate_params *p,
    struct generate_result *r, char **cause)
{
	struct sampler *smp = NULL;
	struct strbuf text = STRBUF_INIT;
	size_t emitted = 0, stop_at, hold, i, n_new;
	float *logits = NULL;
	double t0, t1;
	int32_t tokv, prev, pos;
	int rc = -1, all, n, budget;

	memset(r, 0, sizeof(*r));
	r->n_prompt = n_prompt;
	r->finish = GENERATE_FINISH_LENGTH;
	if (n_prompt == 0)
		return set_cause(cause, "the prompt has no tokens");
	if (n_prompt > be->n_ctx)
		return set_cause(cause, "the prompt has %zu tokens, more than the "
		    "context length %u", n_prompt, be->n_ctx);
	if (p->n_cached >= n_prompt)
		return set_cause(cause, "the cache holds the whole prompt: "
		    "nothing to evaluate");
	n_new = n_prompt - p->n_cached;
	all = p->on_logits != NULL;
	logits = xmalloc((all ? n_new : 1) * (size_t)be->n_vocab *
	    sizeof(float));
	smp = sampler_new(&p->sampling, be->n_vocab);
	for (i = 0; i < n_prompt; i++)
		sampler_accept(smp, prompt[i]);

	/* the prompt (what the cache lacks of it), as one batch */
	t0 = clock_now();
	if (be->eval(be->ctx, prompt + p->n_cached, (int)n_new,
	    (int32_t)p->n_cached, all, logits, cause) != 0)
		goto out;
	t1 = clock_now();
	r->prompt_seconds = t1 - t0;
	r->n_past = n_prompt;
	if (all) {
		for (i = 0; i < n_new; i++)
			if (p->on_logits(p->on_logits_arg, logits +
			    i * be->n_vocab, be->n_vocab) != 0)
				goto done;
		memmove(logits, logits + (n_new - 1) * be->n_vocab,
		    be->n_vocab * sizeof(float));
	}

	budget = p->max_tokens;
	if (budget < 0 || (size_t)budget > be->n_ctx - n_prompt + 1)
		budget = (int)(be->n_ctx - n_prompt + 1);
	prev = prompt[n_prompt - 1];
	pos = (int32_t)n_prompt;
	for (n = 0; n < budget; n++) {
		tokv = sampler_sample(smp, logits);
		if (n == 0)
			r->first_token_seconds = clock_now() - t0;
		if (!p->ignore_eog && tokenizer_is_eog(tok, tokv)) {
			r->finish = GENERATE_FINISH_STOP;
			break;
		}
		sampler_accept(smp, tokv);
		r->tokens = xreallocarray(r->tokens, r->n_tokens + 1,
		    sizeof(*r->tokens));
		r->tokens[r->n_tokens++] = tokv;
		tokenizer_decode_piece(tok, prev, tokv, 0, &text);
		prev = tokv;

		stop_at = generate_find_stop(p, text.buf ? text.buf : "",
		    text.len, &hold);
		if (stop_at < text.len) {
			text.len = stop_at;
			text.buf[stop_at] = '\0';
			r->finish = GENERATE_FINISH_STOP;
			break;
		}
		if (p->on_text != NULL && text.len - hold > emitted) {
			if (p->on_text(p->on_text_arg, text.buf + emitted,
			    text.len - hold - emitted) != 0) {
				emitted = text.len - hold;
				r->finish = GENERATE_FINISH_STOP;
				break;
			}
			emitted = text.len - hold;
		}
		if (n + 1 == budget || (uint32_t)pos >= be->n_ctx)
			break;
		if (be->eval(be->ctx, &tokv, 1, pos, 0, logits, cause) != 0)
			goto out;
		pos++;
		r->n_past = (size_t)pos;
		if (all && p->on_logits(p->on_logits_arg, logits,
		    be->n_vocab) != 0)
			break;
	}
done:
	if (p->on_text != NULL && text.len > emitted)
		p->on_text(p->on_text_arg, text.buf + emitted, text.len - emitted);
	r->gen_seconds = clock_now() - t0 - r->first_token_seconds;
	r->text = strbuf_detach(&text, &r->text_len);
	rc = 0;
out:
	strbuf_release(&text);
	sampler_free(smp);
	free(logits);
	return rc;
}

static int
generate_local_eval(void *ctx, const int32_t *tokens, int n, int32_t pos0,
    int all_logits, float *logits, char **cause)
{
	struct generate_local *g = ctx;
	const struct model *m = g->model;
	size_t e = m->hp.n_embd;
	float *hidden;
	int32_t *pos;
	int i, rc = -1;

	hidden = xmalloc((size_t)n * e * sizeof(float));
	pos = xmalloc((size_t)n * sizeof(*pos));
	for (i = 0; i < n; i++)
		pos[i] = pos0 + i;
	if (model_embed(m, tokens, n, hidden, cause) != 0 ||
	    model_forward_blocks(m, g->pool, 0, m->hp.n_layer, hidden, pos, n,
	    g->kv, cause) != 0)
		goto out;
	if (all_logits)
		rc = model_head(m, g->pool, hidden, n, logits, cause);
	else
		rc = model_head(m, g->pool, hidden + (size_t)(n - 1) * e, 1,
		    logits, cause);
out:
	free(hidden);
	free(pos);
	return rc;
}

int
generate_local_init(struct generate_local *g, const struct model *m,
    struct pool *pool, uint32_t n_ctx, struct generate_backend *be,
    char **cause)
{
	memset(g, 0, sizeof(*g));
	g->model = m;
	g->pool = pool;
	if ((g->kv = kv_cache_new(m, 0, m->hp.n_layer, n_ctx, cause)) == NULL)
		return -1;
	be->ctx = g;
	be->n_vocab = m->hp.n_vocab;
	be->n_ctx = n_ctx;
	be->eval = generate_local_eval;
	return 0;
}

void
generate_local_release(struct generate_local *g)
{
	kv_cache_free(g->kv);
	memset(g, 0, sizeof(*g));
}
