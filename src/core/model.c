/*
 * The forward pass of `llama` and `qwen2` models, written to read like the
 * papers (after llama2.c): embedding, then per block attention RMSNorm, Q/K/V
 * projections (+ biases for qwen2), RoPE, causal grouped-query attention
 * against the session's KV cache, output projection and residual, FFN
 * RMSNorm, SwiGLU and residual; finally the output norm and head. Every
 * matrix product goes through model_matmul_group (model-matmul.c), which
 * quantizes the activations to the weight's dot type and splits the rows
 * over the thread pool. A pass works in memory the session's KV cache keeps
 * between steps, never in the model, which every session shares.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/model.h"
#include "core/pool.h"
#include "util/xmalloc.h"

int
model_embed(const struct model *m, const int32_t *tokens, int n, float *hidden,
    char **cause)
{
	const struct model_weight *w = &m->tok_embd;
	int i;

	if (w->data == NULL)
		return set_cause(cause, "model: token embedding not loaded");
	for (i = 0; i < n; i++) {
		if (tokens[i] < 0 || (uint32_t)tokens[i] >= m->hp.n_vocab)
			return set_cause(cause, "token id %d out of range "
			    "(vocabulary %u)", tokens[i], m->hp.n_vocab);
		quant_dequantize_row(w->type, (const char *)w->data +
		    (size_t)tokens[i] * w->row_bytes, hidden +
		    (size_t)i * m->hp.n_embd, w->n_in);
	}
	return 0;
}

/* ---- the blocks ---- */

static void
model_rmsnorm(float *out, const float *x, const float *w, int n, float eps)
{
	double sum = 0;
	float scale;
	int i;

	for (i = 0; i < n; i++)
		sum += (double)x[i] * x[i];
	scale = 1.0f / sqrtf((float)(sum / n) + eps);
	for (i = 0; i < n; i++)
		out[i] = x[i] * scale * w[i];
}

static void
model_add_bias(float *x, const struct model_weight *b, int n, int dim)
{
	const float *bias = b->data;
	int i, j;

	if (bias == NULL)
		return;
	for (i = 0; i < n; i++)
		for (j = 0; j < dim; j++)
			x[(size_t)i * dim + j] += bias[j];
}

/*
 * Rotates each head of x (n_heads * head_dim) for position pos. The angle
 * is stepped by repeated float multiplication, as llama.cpp does, so the
 * activations round the same way before they are quantized.
 */
static void
model_rope(const struct model *m, float *x, int n_heads, int pos)
{
	const struct model_hparams *hp = &m->hp;
	int half = hp->rope_dim / 2, h, i;
	float theta_scale = powf(hp->rope_theta, -2.0f / hp->rope_dim);
	float theta = (float)pos;

	for (i = 0; i < half; i++, theta *= theta_scale) {
		float t = m->rope_freqs != NULL ? theta / m->rope_freqs[i] : theta;
		float c = cosf(t), s = sinf(t);

		for (h = 0; h < n_heads; h++) {
			float *v = x + (size_t)h * hp->head_dim, x0, x1;
			int i0 = hp->rope_neox ? i : 2 * i;
			int i1 = hp->rope_neox ? i + half : 2 * i + 1;

			x0 = v[i0];
			x1 = v[i1];
			v[i0] = x0 * c - x1 * s;
			v[i1] = x0 * s + x1 * c;
		}
	}
}

/* gate = silu(gate) * up, spread over the pool (the dispatched kernel) */
struct model_swiglu_job {
	float		*gate;
	const float	*up;
	size_t		 n, chunk;
	quant_swiglu_fn	 fn;
};

static void
model_swiglu_task(void *arg, int task, int thread)
{
	struct model_swiglu_job *j = arg;
	size_t i = (size_t)task * j->chunk, end = i + j->chunk;

	(void)thread;
	if (end > j->n)
		end = j->n;
	j->fn(j->gate + i, j->up + i, end - i);
}

static void
model_swiglu(struct pool *pool, float *gate, const float *up, size_t n)
{
	struct model_swiglu_job j = { gate, up, n, 4096, quant_get_swiglu() };

	pool_run(pool, model_swiglu_task, &j,
	    (int)((n + j.chunk - 1) / j.chunk));
}

/*
 * Causal attention of a pass: a task is one row's query heads that share a
 * key and value head (or a part of them, split so that a pass of few rows
 * still gives every thread work), through the dispatched kernel
 * (quant_get_attn), which reads each cached key and value row once for
 * the heads it is given.
 */
struct model_attn_job {
	const struct model	*m;
	struct kv_cache *const	*kv;	/* row t's cache */
	uint32_t		 block;
	const float		*q;	/* [n][n_head * head_dim] */
	float			*out;	/* [n][n_head * head_dim] */
	const int32_t		*pos;
	float			*scores;	/* [threads][group][max_ctx] */
	uint32_t		 max_ctx;
	quant_attn_fn		 attn;
	int			 group;	/* query heads a task (divides n_head
					 * / n_head_kv) */
};

static void
model_attn_task(void *arg, int task, int thread)
{
	struct model_attn_job *j = arg;
	const struct model_hparams *hp = &j->m->hp;
	int hd = hp->head_dim, per_row = (int)hp->n_head / j->group;
	int t = task / per_row, h = task % per_row * j->group;
	int kvh = h / ((int)hp->n_head / (int)hp->n_head_kv);
	size_t qd = (size_t)hp->n_head * hd;
	const struct kv_cache *kv = j->kv[t];
	size_t off = (size_t)(j->block - kv->block_begin) * kv->n_ctx *
	    kv->kv_dim + (size_t)kvh * hd;

	j->attn(j->q + t * qd + (size_t)h * hd, j->group, hd, kv->k + off,
	    kv->v + off, kv->kv_dim, j->pos[t] + 1, 1.0f / sqrtf((float)hd),
	    j->scores + (size_t)thread * j->group * j->max_ctx,
	    j->out + t * qd + (size_t)h * hd);
}

/*
 * Query heads a task: all that share a key and value head, halved while
 * that leaves fewer than two tasks a thread (one row's decode of a model
 * with few key and value heads).
 */
static int
model_attn_group(const struct model_hparams *hp, int n, int threads)
{
	int group = (int)(hp->n_head / hp->n_head_kv);

	while (group % 2 == 0 && n * (int)hp->n_head / group < 2 * threads)
		group /= 2;
	return group;
}

/*
 * out[i][n][w[i]->n_out] = in[n][n_in] x w[i]^T over the rows of a pass.
 * Rows of different caches (sessions batched together) go through one
 * product only when the kernels give each row the same bits whatever the
 * other rows are; otherwise each session's rows are a product of their
 * own, so a session's output never depends on who it was batched with.
 */
static void
model_rows_product(struct pool *pool, const struct model_weight *const *w,
    float *const *out, int n_parts, const float *in,
    const struct model_rows *rows, void *acts)
{
	float *o[MODEL_MATMUL_MAX_PARTS];
	int i, s0, s1, exact = 1;

	for (i = 0; i < n_parts; i++)
		exact &= quant_gemm_rows_independent(w[i]->type,
		    w[i]->x8 != NULL);
	if (exact) {
		model_matmul_group(pool, w, out, n_parts, in, rows->n, acts);
		return;
	}
	for (s0 = 0; s0 < rows->n; s0 = s1) {
		for (s1 = s0 + 1; s1 < rows->n && (rows->owner != NULL ?
		    rows->owner[s1] == rows->owner[s0] : rows->kv[s1] ==
		    rows->kv[s0]); s1++)
			;
		for (i = 0; i < n_parts; i++)
			o[i] = out[i] + (size_t)s0 * w[i]->n_out;
		model_matmul_group(pool, w, o, n_parts, in + (size_t)s0 *
		    w[0]->n_in, s1 - s0, acts);
	}
}

/* out[n][w->n_out] = in[n][w->n_in] x w^T, the input quantized into acts */
static void
model_product(struct pool *pool, const struct model_weight *w,
    const float *in, const struct model_rows *rows, float *out, void *acts)
{
	model_rows_product(pool, &w, &out, 1, in, rows, acts);
}

/*
 * The working memory of one pass over n rows, carved from the cache's
 * scratch, which outlives the call: a decode step allocates nothing.
 */
struct model_scratch {
	float	*xb;		/* [n][n_embd] */
	float	*q;		/* [n][n_head * head_dim] */
	float	*k;		/* [n][kv_dim] */
	float	*v;		/* [n][kv_dim] */
	float	*att;		/* [n][n_head * head_dim] */
	float	*gate;		/* [n][n_ff] */
	float	*up;		/* [n][n_ff] */
	float	*scores;	/* [threads][attention group][n_ctx] */
	void	*acts;		/* a product's input, quantized */
};

/* The next piece of base (NULL while only measuring), 64-byte aligned. */
static void *
model_scratch_take(char *base, size_t *used, size_t n)
{
	void *p = base != NULL ? base + *used : NULL;

	*used += (n + 63) & ~(size_t)63;
	return p;
}

/*
 * Lays out s over base for n rows of blocks [a, b) and returns the bytes it
 * takes; with base NULL it only measures. n <= n_ctx <= 2^20, and the load
 * bounds the model's dimensions (head_dim <= 4096, the others <= 2^20), so
 * no size here comes near overflowing a 64-bit size_t; an allocation that
 * large fails in kv_cache_scratch and is reported.
 */
static size_t
model_scratch_layout(const struct model *m, uint32_t a, uint32_t b, int n,
    int threads, uint32_t n_ctx, char *base, struct model_scratch *s)
{
	const struct model_hparams *hp = &m->hp;
	size_t e = hp->n_embd, qd = (size_t)hp->n_head * hp->head_dim;
	size_t kvd = (size_t)hp->n_head_kv * hp->head_dim, f = hp->n_ff;
	size_t rows = (size_t)n, used = 0, acts = 0, x;
	uint32_t l;
	int i;

	for (l = a; l < b; l++) {
		const struct model_block *blk = &m->blocks[l];
		const struct model_weight *w[] = { &blk->wq, &blk->wk,
		    &blk->wv, &blk->wo, &blk->w_gate, &blk->w_up,
		    &blk->w_down };

		for (i = 0; i < (int)(sizeof(w) / sizeof(w[0])); i++)
			if ((x = model_matmul_acts_bytes(w[i], n)) > acts)
				acts = x;
	}
	s->xb = model_scratch_take(base, &used, rows * e * sizeof(float));
	s->q = model_scratch_take(base, &used, rows * qd * sizeof(float));
	s->k = model_scratch_take(base, &used, rows * kvd * sizeof(float));
	s->v = model_scratch_take(base, &used, rows * kvd * sizeof(float));
	s->att = model_scratch_take(base, &used, rows * qd * sizeof(float));
	s->gate = model_scratch_take(base, &used, rows * f * sizeof(float));
	s->up = model_scratch_take(base, &used, rows * f * sizeof(float));
	s->scores = model_scratch_take(base, &used, (size_t)threads *
	    (size_t)model_attn_group(hp, n, threads) * n_ctx * sizeof(float));
	s->acts = model_scratch_take(base, &used, acts);
	return used;
}

/*
 * Checks the rows of a pass: each cache's rows are one run, its positions
 * continue the cache and increase by one, and the blocks are in it. Sets
 * *max_ctx to the largest cache's length.
 */
static int
model_rows_check(const struct model *m, uint32_t a, uint32_t b,
    const struct model_rows *r, uint32_t *max_ctx, char **cause)
{
	const struct kv_cache *kv;
	int t, u;

	if (a < m->block_begin || b > m->block_end || a > b)
		return set_cause(cause, "blocks %u:%u not loaded (this model "
		    "holds %u:%u)", a, b, m->block_begin, m->block_end);
	*max_ctx = 0;
	for (t = 0; t < r->n; t++) {
		kv = r->kv[t];
		if (t > 0 && kv == r->kv[t - 1]) {
			if (r->pos[t] != r->pos[t - 1] + 1)
				return set_cause(cause, "positions must be "
				    "consecutive");
		} else {
			for (u = 0; u < t; u++)
				if (r->kv[u] == kv)
					return set_cause(cause, "a cache's "
					    "rows must be one run");
			if (a < kv->block_begin || b > kv->block_end)
				return set_cause(cause, "blocks %u:%u not in "
				    "the kv cache (%u:%u)", a, b,
				    kv->block_begin, kv->block_end);
			if (r->pos[t] < 0 || (uint32_t)r->pos[t] > kv->n_filled)
				return set_cause(cause, "position %d skips "
				    "ahead of the cache (%u filled)",
				    r->pos[t], kv->n_filled);
			if (kv->n_ctx > *max_ctx)
				*max_ctx = kv->n_ctx;
		}
		if ((uint64_t)r->pos[t] >= kv->n_ctx)
			return set_cause(cause, "context length exceeded: "
			    "position %d, the cache holds %u", r->pos[t],
			    kv->n_ctx);
	}
	return 0;
}

int
model_forward_blocks(const struct model *m, struct pool *pool, uint32_t a,
    uint32_t b, float *hidden, const int32_t *pos, int n, struct kv_cache *kv,
    char **cause)
{
	struct kv_cache *one[64], **kvs = n <= 64 ? one : NULL;
	struct model_rows rows;
	int t, rc;

	if (n <= 0)
		n = 0;
	if (kvs == NULL)
		kvs = xreallocarray(NULL, (size_t)n, sizeof(*kvs));
	for (t = 0; t < n; t++)
		kvs[t] = kv;
	rows.n = n;
	rows.pos = pos;
	rows.kv = kvs;
	rows.owner = NULL;
	rc = model_forward_rows(m, pool, a, b, hidden, &rows, kv, cause);
	if (kvs != one)
		free(kvs);
	return rc;
}

int
model_forward_rows(const struct model *m, struct pool *pool, uint32_t a,
    uint32_t b, float *hidden, const struct model_rows *rows,
    struct kv_cache *scratch, char **cause)
{
	const struct model_hparams *hp = &m->hp;
	size_t e = hp->n_embd, qd = (size_t)hp->n_head * hp->head_dim;
	size_t kvd = (size_t)hp->n_head_kv * hp->head_dim, f = hp->n_ff;
	const int32_t *pos = rows->pos;
	struct kv_cache *kv;
	struct model_scratch s;
	struct model_attn_job aj;
	char *base;
	uint32_t l, max_ctx = 0;
	int i, t, n = rows->n, threads = pool_size(pool);

	if (model_rows_check(m, a, b, rows, &max_ctx, cause) != 0)
		return -1;
	if (n <= 0)
		return 0;
	if ((base = kv_cache_scratch(scratch, model_scratch_layout(m, a, b, n,
	    threads, max_ctx, NULL, &s), cause)) == NULL)
		return -1;
	model_scratch_layout(m, a, b, n, threads, max_ctx, base, &s);
	memset(&aj, 0, sizeof(aj));
	aj.m = m;
	aj.kv = rows->kv;
	aj.q = s.q;
	aj.out = s.att;
	aj.pos = pos;
	aj.scores = s.scores;
	aj.max_ctx = max_ctx;
	aj.attn = quant_get_attn();
	aj.group = model_attn_group(hp, n, threads);

	for (l = a; l < b; l++) {
		const struct model_block *blk = &m->blocks[l];

		/* attention rmsnorm */
		for (t = 0; t < n; t++)
			model_rmsnorm(s.xb + t * e, hidden + t * e,
			    blk->attn_norm.data, (int)e, hp->rms_eps);
		/* q, k, v projections (+ biases) */
		{
			const struct model_weight *w[3] = { &blk->wq, &blk->wk,
			    &blk->wv };
			float *o[3] = { s.q, s.k, s.v };

			model_rows_product(pool, w, o, 3, s.xb, rows, s.acts);
		}
		model_add_bias(s.q, &blk->bq, n, (int)qd);
		model_add_bias(s.k, &blk->bk, n, (int)kvd);
		model_add_bias(s.v, &blk->bv, n, (int)kvd);
		/* RoPE, then keys and values into each row's cache */
		for (t = 0; t < n; t++) {
			size_t off;

			kv = rows->kv[t];
			off = ((size_t)(l - kv->block_begin) * kv->n_ctx +
			    (size_t)pos[t]) * kvd;
			model_rope(m, s.q + t * qd, hp->n_head, pos[t]);
			model_rope(m, s.k + t * kvd, hp->n_head_kv, pos[t]);
			memcpy(kv->k + off, s.k + t * kvd, kvd * sizeof(float));
			memcpy(kv->v + off, s.v + t * kvd, kvd * sizeof(float));
		}
		/* causal attention, each row over its own cache */
		aj.block = l;
		pool_run(pool, model_attn_task, &aj, n * (int)hp->n_head /
		    aj.group);
		/* output projection and residual */
		model_product(pool, &blk->wo, s.att, rows, s.xb, s.acts);
		for (i = 0; i < (int)(n * e); i++)
			hidden[i] += s.xb[i];
		/* ffn rmsnorm */
		for (t = 0; t < n; t++)
			model_rmsnorm(s.xb + t * e, hidden + t * e,
			    blk->ffn_norm.data, (int)e, hp->rms_eps);
		/* SwiGLU: down(silu(gate(x)) * up(x)) */
		{
			const struct model_weight *w[2] = { &blk->w_gate,
			    &blk->w_up };
			float *o[2] = { s.gate, s.up };

			model_rows_product(pool, w, o, 2, s.xb, rows, s.acts);
		}
		model_swiglu(pool, s.gate, s.up, n * f);
		model_product(pool, &blk->w_down, s.gate, rows, s.xb, s.acts);
		/* residual */
		for (i = 0; i < (int)(n * e); i++)
			hidden[i] += s.xb[i];
	}
	for (t = 0; t < n; t++)
		rows->kv[t]->n_filled = (uint32_t)pos[t] + 1;
	return 0;
}

int
model_head(const struct model *m, struct pool *pool, const float *hidden, int n,
    float *logits, char **cause)
{
	/* one session: its rows are one product (no kv, no owner) */
	struct model_rows rows = { n, NULL, NULL, NULL };

	return model_head_rows(m, pool, hidden, &rows, logits, cause);
}

int
model_head_rows(const struct model *m, struct pool *pool, const float *hidden,
    const struct model_rows *rows, float *logits, char **cause)
{
	const struct model_weight *w = &m->output;
	size_t e = m->hp.n_embd;
	float *xb;
	int t, n = rows->n;

	if (m->output.data == NULL || m->output_norm.data == NULL)
		return set_cause(cause, "model: output head not loaded");
	xb = xmalloc((size_t)n * e * sizeof(float));
	/* final rmsnorm, then the vocabulary projection */
	for (t = 0; t < n; t++)
		model_rmsnorm(xb + t * e, hidden + t * e, m->output_norm.data,
		    (int)e, m->hp.rms_eps);
	if (rows->kv == NULL && rows->owner == NULL)
		model_matmul(pool, w, xb, n, logits);
	else
		model_rows_product(pool, &w, &logits, 1, xb, rows, NULL);
	free(xb);
	return 0;
}
