/*
 * The forward pass of `llama` and `qwen2` models, written to read like the
 * papers (after llama2.c): embedding, then per block attention RMSNorm, Q/K/V
 * projections (+ biases for qwen2), RoPE, causal grouped-query attention
 * against the session's KV cache, output projection and residual, FFN
 * RMSNorm, SwiGLU and residual; finally the output norm and head. Every
 * matrix product goes through model_matmul, which quantizes the activations
 * to the weight's dot type and splits the rows over the thread pool.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/gguf.h"
#include "core/model.h"
#include "core/pool.h"
#include "util/xmalloc.h"

/* Limits that keep a hostile file's numbers from turning into huge work. */
#define MODEL_MAX_DIM		(1u << 20)
#define MODEL_MAX_LAYERS	4096u
#define MODEL_MAX_VOCAB		(1u << 22)

static int
model_get_u32(const struct gguf_file *gf, const char *arch, const char *key,
    uint32_t *out, int required, char **cause)
{
	char name[128];

	snprintf(name, sizeof(name), "%s.%s", arch, key);
	if (gguf_get_u32(gf, name, out) == 0)
		return 0;
	if (required)
		return set_cause(cause, "'%s': missing metadata '%s'", gf->path,
		    name);
	return 1;
}

int
model_read_hparams(const struct gguf_file *gf, struct model_hparams *hp,
    char **cause)
{
	struct gguf_str s;
	const struct gguf_tensor *t;
	char key[128];
	const char *a;
	uint32_t v;

	memset(hp, 0, sizeof(*hp));
	if (gguf_get_str(gf, "general.architecture", &s) != 0)
		return set_cause(cause, "'%s': missing metadata "
		    "'general.architecture'", gf->path);
	if (s.len >= sizeof(hp->arch_name))
		return set_cause(cause, "'%s': architecture name too long",
		    gf->path);
	memcpy(hp->arch_name, s.ptr, s.len);
	hp->arch_name[s.len] = '\0';
	a = hp->arch_name;
	if (strcmp(a, "llama") == 0)
		hp->arch = MODEL_ARCH_LLAMA;
	else if (strcmp(a, "qwen2") == 0)
		hp->arch = MODEL_ARCH_QWEN2;
	else
		return set_cause(cause, "'%s': architecture '%s' is not "
		    "supported (llama, qwen2)", gf->path, a);

	if (model_get_u32(gf, a, "embedding_length", &hp->n_embd, 1, cause) ||
	    model_get_u32(gf, a, "block_count", &hp->n_layer, 1, cause) ||
	    model_get_u32(gf, a, "feed_forward_length", &hp->n_ff, 1, cause) ||
	    model_get_u32(gf, a, "attention.head_count", &hp->n_head, 1, cause))
		return -1;
	hp->n_head_kv = hp->n_head;
	if (model_get_u32(gf, a, "attention.head_count_kv", &hp->n_head_kv, 0,
	    cause) < 0)
		return -1;
	hp->n_ctx_train = 2048;
	model_get_u32(gf, a, "context_length", &hp->n_ctx_train, 0, cause);
	if (hp->n_embd == 0 || hp->n_embd > MODEL_MAX_DIM || hp->n_ff == 0 ||
	    hp->n_ff > MODEL_MAX_DIM || hp->n_layer == 0 ||
	    hp->n_layer > MODEL_MAX_LAYERS || hp->n_head == 0 ||
	    hp->n_head > hp->n_embd || hp->n_head_kv == 0 ||
	    hp->n_head % hp->n_head_kv != 0)
		return set_cause(cause, "'%s': inconsistent hyper-parameters "
		    "(embedding %u, ffn %u, blocks %u, heads %u/%u)", gf->path,
		    hp->n_embd, hp->n_ff, hp->n_layer, hp->n_head, hp->n_head_kv);
	hp->head_dim = hp->n_embd / hp->n_head;
	if (model_get_u32(gf, a, "attention.key_length", &v, 0, cause) == 0)
		hp->head_dim = v;
	if (hp->head_dim == 0 || hp->head_dim > 4096 || hp->head_dim % 2 != 0)
		return set_cause(cause, "'%s': invalid head dimension %u",
		    gf->path, hp->head_dim);
	hp->rope_dim = hp->head_dim;
	if (model_get_u32(gf, a, "rope.dimension_count", &v, 0, cause) == 0)
		hp->rope_dim = v;
	if (hp->rope_dim > hp->head_dim || hp->rope_dim % 2 != 0)
		return set_cause(cause, "'%s': invalid rope dimension %u",
		    gf->path, hp->rope_dim);
	hp->rope_theta = 10000.0f;
	snprintf(key, sizeof(key), "%s.rope.freq_base", a);
	gguf_get_f32(gf, key, &hp->rope_theta);
	hp->rms_eps = 1e-5f;
	snprintf(key, sizeof(key), "%s.attention.layer_norm_rms_epsilon", a);
	gguf_get_f32(gf, key, &hp->rms_eps);
	if (!(hp->rope_theta > 0) || !(hp->rms_eps >= 0))
		return set_cause(cause, "'%s': invalid rope base or rms epsilon",
		    gf->path);
	/* NEOX-style rotation for qwen2, as its weights expect. */
	hp->rope_neox = hp->arch == MODEL_ARCH_QWEN2;

	if ((t = gguf_find_tensor(gf, "token_embd.weight")) == NULL)
		return set_cause(cause, "'%s': missing tensor 'token_embd.weight'",
		    gf->path);
	hp->n_vocab = (uint32_t)t->ne[1];
	if (t->ne[1] == 0 || t->ne[1] > MODEL_MAX_VOCAB)
		return set_cause(cause, "'%s': invalid vocabulary size %llu",
		    gf->path, (unsigned long long)t->ne[1]);
	return 0;
}

/* Binds a tensor and checks its shape: (n_in, n_out), n_out 1 for vectors. */
static int
model_bind(const struct gguf_file *gf, const char *name, int64_t n_in,
    int64_t n_out, int optional, struct model_weight *w, char **cause)
{
	const struct gguf_tensor *t = gguf_find_tensor(gf, name);
	const struct quant_type_info *ti;

	memset(w, 0, sizeof(*w));
	if (t == NULL) {
		if (optional)
			return 0;
		return set_cause(cause, "'%s': missing tensor '%s'", gf->path,
		    name);
	}
	if ((int64_t)t->ne[0] != n_in || (int64_t)t->ne[1] != n_out ||
	    t->ne[2] != 1 || t->ne[3] != 1)
		return set_cause(cause, "'%s': tensor '%s' has shape (%llu, %llu),"
		    " expected (%lld, %lld)", gf->path, name,
		    (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
		    (long long)n_in, (long long)n_out);
	ti = quant_type_info(t->type);
	if (ti == NULL || (n_out > 1 && !ti->can_matmul))
		return set_cause(cause, "'%s': tensor '%s' has unsupported type "
		    "%u", gf->path, name, t->type);
	if (n_out == 1 && t->type != GGML_TYPE_F32)
		return set_cause(cause, "'%s': tensor '%s' must be F32, is %s",
		    gf->path, name, ti->name);
	w->data = t->data;
	w->type = t->type;
	w->n_in = n_in;
	w->n_out = n_out;
	w->row_bytes = quant_row_size(t->type, n_in);
	return 0;
}

static int
model_bind_block(const struct gguf_file *gf, const struct model_hparams *hp,
    uint32_t l, struct model_block *b, char **cause)
{
	int64_t e = hp->n_embd, qd = (int64_t)hp->n_head * hp->head_dim;
	int64_t kvd = (int64_t)hp->n_head_kv * hp->head_dim, f = hp->n_ff;
	int bias = hp->arch == MODEL_ARCH_QWEN2;
	char n[14][64];
	int i;
	static const char *suffix[] = { "attn_norm.weight", "attn_q.weight",
	    "attn_k.weight", "attn_v.weight", "attn_output.weight",
	    "attn_q.bias", "attn_k.bias", "attn_v.bias", "ffn_norm.weight",
	    "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight" };

	for (i = 0; i < 12; i++)
		snprintf(n[i], sizeof(n[i]), "blk.%u.%s", l, suffix[i]);
	if (model_bind(gf, n[0], e, 1, 0, &b->attn_norm, cause) ||
	    model_bind(gf, n[1], e, qd, 0, &b->wq, cause) ||
	    model_bind(gf, n[2], e, kvd, 0, &b->wk, cause) ||
	    model_bind(gf, n[3], e, kvd, 0, &b->wv, cause) ||
	    model_bind(gf, n[4], qd, e, 0, &b->wo, cause) ||
	    model_bind(gf, n[5], qd, 1, !bias, &b->bq, cause) ||
	    model_bind(gf, n[6], kvd, 1, !bias, &b->bk, cause) ||
	    model_bind(gf, n[7], kvd, 1, !bias, &b->bv, cause) ||
	    model_bind(gf, n[8], e, 1, 0, &b->ffn_norm, cause) ||
	    model_bind(gf, n[9], e, f, 0, &b->w_gate, cause) ||
	    model_bind(gf, n[10], e, f, 0, &b->w_up, cause) ||
	    model_bind(gf, n[11], f, e, 0, &b->w_down, cause))
		return -1;
	return 0;
}

/*
 * Repacks a matrix into its interleaved layout when its type has one, then
 * gives the file's pages of it back (they are read again from the file if
 * anything touches them). Without memory for the copy the matrix stays as
 * it is: slower, not wrong.
 */
/* Large pages for a large copy where the system gives them on request:
 * a fraction of the page faults at load, fewer TLB misses when streamed. */
static void
model_advise_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
	uintptr_t page = 4096, a = ((uintptr_t)p + page - 1) & ~(page - 1);
	uintptr_t e = ((uintptr_t)p + n) & ~(page - 1);

	if (e > a)
		(void)madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
	(void)p;
	(void)n;
#endif
}

/* The rows of one matrix repacked in tasks of whole panels. */
struct interleave_job {
	const struct model_weight	*w;
	int64_t				 rows_per_task;
};
#define MODEL_INTERLEAVE_ROWS	256	/* a multiple of QUANT_X8_ROWS */

static void
interleave_task(void *arg, int task, int thread)
{
	const struct interleave_job *j = arg;
	const struct model_weight *w = j->w;
	int64_t r0 = (int64_t)task * j->rows_per_task, n = w->n_out - r0;
	size_t off = (size_t)r0 * w->row_bytes;

	(void)thread;
	if (n > j->rows_per_task)
		n = j->rows_per_task;
	(void)quant_x8_pack(w->type, w->n_in, (const char *)w->data + off,
	    w->row_bytes, n, (char *)w->x8 + off);
}

/*
 * Repacks a matrix into its interleaved layout when its type has one, on
 * the pool's threads when there is a pool, then gives the file's pages of
 * it back (they are read again from the file if anything touches them).
 * Without memory for the copy the matrix stays as it is: slower, not
 * wrong.
 */
static void
model_interleave(const struct gguf_file *gf, struct pool *pool,
    struct model_weight *w)
{
	struct interleave_job j;
	int tasks, t;
	size_t n;
	uint32_t i;

	if (w->data == NULL || w->n_out < 2 || !quant_x8_supported(w->type) ||
	    (n = quant_x8_bytes(w->type, w->n_in, w->n_out)) == 0)
		return;
	if ((w->x8 = aligned_alloc(64, (n + 63) & ~(size_t)63)) == NULL)
		return;
	model_advise_huge(w->x8, n);
	j.w = w;
	j.rows_per_task = MODEL_INTERLEAVE_ROWS;
	tasks = (int)((w->n_out + j.rows_per_task - 1) / j.rows_per_task);
	if (pool != NULL) {
		pool_run(pool, interleave_task, &j, tasks);
	} else {
		for (t = 0; t < tasks; t++)
			interleave_task(&j, t, 0);
	}
	for (i = 0; i < gf->n_tensors; i++) {
		if (gf->tensors[i].data == w->data) {
			gguf_advise_tensor(gf, &gf->tensors[i], 0);
			break;
		}
	}
}

static void
model_block_matrices(struct model_block *b, struct model_weight **w)
{
	w[0] = &b->wq;
	w[1] = &b->wk;
	w[2] = &b->wv;
	w[3] = &b->wo;
	w[4] = &b->w_gate;
	w[5] = &b->w_up;
	w[6] = &b->w_down;
}
#define MODEL_BLOCK_MATRICES	7

struct model *
model_load(const struct gguf_file *gf, uint32_t a, uint32_t b, int flags,
    struct pool *pool, char **cause)
{
	struct model *m = xcalloc(1, sizeof(*m));
	const struct gguf_tensor *t;
	uint32_t l;

	if (model_read_hparams(gf, &m->hp, cause) != 0)
		goto fail;
	if (a > b || b > m->hp.n_layer) {
		set_cause(cause, "'%s': blocks %u:%u out of range (the model has "
		    "%u)", gf->path, a, b, m->hp.n_layer);
		goto fail;
	}
	m->gguf = gf;
	m->block_begin = a;
	m->block_end = b;
	m->flags = flags;
	m->blocks = xcalloc(m->hp.n_layer, sizeof(*m->blocks));
	for (l = a; l < b; l++)
		if (model_bind_block(gf, &m->hp, l, &m->blocks[l], cause) != 0)
			goto fail;
	if ((flags & (MODEL_LOAD_EMBED | MODEL_LOAD_HEAD)) != 0 &&
	    model_bind(gf, "token_embd.weight", m->hp.n_embd, m->hp.n_vocab, 0,
	    &m->tok_embd, cause) != 0)
		goto fail;
	if (flags & MODEL_LOAD_HEAD) {
		if (model_bind(gf, "output_norm.weight", m->hp.n_embd, 1, 0,
		    &m->output_norm, cause) != 0 ||
		    model_bind(gf, "output.weight", m->hp.n_embd, m->hp.n_vocab,
		    1, &m->output, cause) != 0)
			goto fail;
		if (m->output.data == NULL)	/* tied to the embedding */
			m->output = m->tok_embd;
	}
	if ((t = gguf_find_tensor(gf, "rope_freqs.weight")) != NULL) {
		if (t->type != GGML_TYPE_F32 || t->ne[0] != m->hp.rope_dim / 2 ||
		    t->n_elements != t->ne[0]) {
			set_cause(cause, "'%s': tensor 'rope_freqs.weight' must be "
			    "F32 of %u elements", gf->path, m->hp.rope_dim / 2);
			goto fail;
		}
		m->rope_freqs = t->data;
	}
	if (!(flags & MODEL_LOAD_PLAIN)) {
		struct model_weight *w[MODEL_BLOCK_MATRICES];
		int i;

		for (l = a; l < b; l++) {
			model_block_matrices(&m->blocks[l], w);
			for (i = 0; i < MODEL_BLOCK_MATRICES; i++)
				model_interleave(gf, pool, w[i]);
		}
		/* a tied output is the embedding too, which needs the rows */
		if ((flags & MODEL_LOAD_HEAD) &&
		    m->output.data != m->tok_embd.data)
			model_interleave(gf, pool, &m->output);
	}
	return m;
fail:
	model_free(m);
	return NULL;
}

void
model_free(struct model *m)
{
	struct model_weight *w[MODEL_BLOCK_MATRICES];
	uint32_t l;
	int i;

	if (m == NULL)
		return;
	for (l = m->block_begin; m->blocks != NULL && l < m->block_end; l++) {
		model_block_matrices(&m->blocks[l], w);
		for (i = 0; i < MODEL_BLOCK_MATRICES; i++)
			free(w[i]->x8);
	}
	free(m->output.x8);	/* never the embedding's: that stays plain */
	free(m->blocks);
	free(m);
}

static size_t
model_weight_repacked(const struct model_weight *w)
{
	return w->x8 != NULL ? quant_x8_bytes(w->type, w->n_in, w->n_out) : 0;
}

size_t
model_repacked_bytes(const struct model *m)
{
	struct model_weight *w[MODEL_BLOCK_MATRICES];
	size_t n = model_weight_repacked(&m->output);
	uint32_t l;
	int i;

	for (l = m->block_begin; m->blocks != NULL && l < m->block_end; l++) {
		model_block_matrices(&m->blocks[l], w);
		for (i = 0; i < MODEL_BLOCK_MATRICES; i++)
			n += model_weight_repacked(w[i]);
	}
	return n;
}

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
	free(kv);
}

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

/* ---- matrix products ---- */

/* One matrix of a grouped product: its rows are cut into tasks. */
struct matmul_part {
	const struct model_weight	*w;
	const void			*data;	/* w's plain or x8 rows */
	quant_gemm_fn			 gemm;
	float				*out;
	int				 rows_per_task;
	int				 row_tasks;
	int				 first_task;
};

#define MATMUL_MAX_PARTS	3
#define MATMUL_ACT_TILE		64

/*
 * Products of one input with up to three matrices (q/k/v, gate/up): the
 * input is quantized once and every matrix's tasks go out in one job, so
 * the threads meet once instead of three times.
 */
struct matmul_job {
	struct matmul_part	 part[MATMUL_MAX_PARTS];
	int			 n_parts;
	const char		*acts;
	size_t			 act_row;
	const float		*in;
	int64_t			 n_in;
	int			 n;
	int			 acts_per_task;
	quant_quantize_fn	 quantize;
};

static void
matmul_quantize_task(void *arg, int task, int thread)
{
	struct matmul_job *j = arg;

	(void)thread;
	j->quantize(j->in + (size_t)task * j->n_in,
	    (char *)j->acts + (size_t)task * j->act_row, j->n_in);
}

static void
matmul_task(void *arg, int task, int thread)
{
	struct matmul_job *j = arg;
	const struct matmul_part *p = &j->part[0];
	int i, rt, at, a0, nr, na;
	int64_t r0;

	(void)thread;
	for (i = 1; i < j->n_parts && task >= j->part[i].first_task; i++)
		p = &j->part[i];
	task -= p->first_task;
	rt = task % p->row_tasks;
	at = task / p->row_tasks;
	r0 = (int64_t)rt * p->rows_per_task;
	a0 = at * j->acts_per_task;
	nr = p->rows_per_task;
	na = j->acts_per_task;
	if (r0 + nr > p->w->n_out)
		nr = (int)(p->w->n_out - r0);
	if (a0 + na > j->n)
		na = j->n - a0;
	p->gemm(j->n_in, (const char *)p->data + (size_t)r0 *
	    p->w->row_bytes, p->w->row_bytes, nr, j->acts + (size_t)a0 *
	    j->act_row, j->act_row, na, p->out + (size_t)a0 * p->w->n_out + r0,
	    (size_t)p->w->n_out);
}

/* out[i][n][w[i]->n_out] = in[n][n_in] x w[i]^T for every i. */
static void
model_matmul_group(struct pool *pool, const struct model_weight *const *w,
    float *const *out, int n_parts, const float *in, int n)
{
	enum ggml_type dot = quant_type_info(w[0]->type)->dot_type;
	struct matmul_job j;
	int threads = pool_size(pool), act_tasks, tasks = 0, i;
	char *buf = NULL;

	for (i = 1; i < n_parts; i++) {
		if (quant_type_info(w[i]->type)->dot_type != dot ||
		    w[i]->n_in != w[0]->n_in) {
			/* different activation types: one job each */
			for (i = 0; i < n_parts; i++)
				model_matmul_group(pool, &w[i], &out[i], 1, in, n);
			return;
		}
	}
	memset(&j, 0, sizeof(j));
	j.n_parts = n_parts;
	j.n = n;
	j.in = in;
	j.n_in = w[0]->n_in;
	if (dot == GGML_TYPE_F32) {
		j.acts = (const char *)in;
		j.act_row = (size_t)j.n_in * sizeof(float);
	} else {
		j.act_row = quant_row_size(dot, j.n_in);
		buf = xmalloc(j.act_row * (size_t)n);
		j.acts = buf;
		j.quantize = quant_get_quantize(dot);
		pool_run(pool, matmul_quantize_task, &j, n);
	}
	j.acts_per_task = n < MATMUL_ACT_TILE ? n : MATMUL_ACT_TILE;
	act_tasks = (n + j.acts_per_task - 1) / j.acts_per_task;
	for (i = 0; i < n_parts; i++) {
		struct matmul_part *p = &j.part[i];

		p->w = w[i];
		p->out = out[i];
		p->data = model_weight_bytes(w[i], NULL);
		p->gemm = w[i]->x8 != NULL ? quant_get_gemm_x8(w[i]->type) :
		    quant_get_gemm(w[i]->type);
		/* Enough row tasks to balance the threads, each a multiple
		 * of 16 rows so kernels can keep several rows in flight (and
		 * interleaved panels of eight are never cut). */
		p->rows_per_task = (int)((w[i]->n_out + threads * 16 - 1) /
		    (threads * 16));
		if (act_tasks > 1)
			p->rows_per_task = (int)((w[i]->n_out + threads - 1) /
			    threads);
		p->rows_per_task = (p->rows_per_task + 15) & ~15;
		if (p->rows_per_task > 256)
			p->rows_per_task = 256;
		if (p->rows_per_task < 16)
			p->rows_per_task = 16;
		p->row_tasks = (int)((w[i]->n_out + p->rows_per_task - 1) /
		    p->rows_per_task);
		p->first_task = tasks;
		tasks += p->row_tasks * act_tasks;
	}
	pool_run(pool, matmul_task, &j, tasks);
	free(buf);
}

const void *
model_weight_bytes(const struct model_weight *w, size_t *n)
{
	if (w->x8 != NULL) {
		if (n != NULL)
			*n = quant_x8_bytes(w->type, w->n_in, w->n_out);
		return w->x8;
	}
	if (n != NULL)
		*n = w->data != NULL ? w->row_bytes * (size_t)w->n_out : 0;
	return w->data;
}

void
model_matmul(struct pool *pool, const struct model_weight *w, const float *in,
    int n, float *out)
{
	model_matmul_group(pool, &w, &out, 1, in, n);
}

/* ---- the blocks ---- */

static void
rmsnorm(float *out, const float *x, const float *w, int n, float eps)
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
add_bias(float *x, const struct model_weight *b, int n, int dim)
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
rope(const struct model *m, float *x, int n_heads, int pos)
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

/* a . b in eight independent partial sums, which the compiler keeps in
 * vector lanes (one running sum would wait on each addition) */
static float
dot_f32(const float *restrict a, const float *restrict b, int n)
{
	float acc[8] = { 0, 0, 0, 0, 0, 0, 0, 0 }, t;
	int i, l;

	for (i = 0; i + 8 <= n; i += 8)
		for (l = 0; l < 8; l++)
			acc[l] += a[i + l] * b[i + l];
	t = ((acc[0] + acc[4]) + (acc[1] + acc[5])) +
	    ((acc[2] + acc[6]) + (acc[3] + acc[7]));
	for (; i < n; i++)
		t += a[i] * b[i];
	return t;
}

/* gate = silu(gate) * up, spread over the pool (expf is not cheap) */
struct swiglu_job {
	float		*gate;
	const float	*up;
	size_t		 n, chunk;
};

static void
swiglu_task(void *arg, int task, int thread)
{
	struct swiglu_job *j = arg;
	size_t i = (size_t)task * j->chunk, end = i + j->chunk;

	(void)thread;
	if (end > j->n)
		end = j->n;
	for (; i < end; i++)
		j->gate[i] = j->gate[i] / (1.0f + expf(-j->gate[i])) * j->up[i];
}

static void
swiglu(struct pool *pool, float *gate, const float *up, size_t n)
{
	struct swiglu_job j = { gate, up, n, 4096 };

	pool_run(pool, swiglu_task, &j, (int)((n + j.chunk - 1) / j.chunk));
}

/* y += a x, eight elements a step (a shape the compiler vectorises) */
static void
axpy_f32(float *restrict y, float a, const float *restrict x, int n)
{
	int i, l;

	for (i = 0; i + 8 <= n; i += 8)
		for (l = 0; l < 8; l++)
			y[i + l] += a * x[i + l];
	for (; i < n; i++)
		y[i] += a * x[i];
}

struct attn_job {
	const struct model	*m;
	const struct kv_cache	*kv;
	const float		*q;	/* [n][n_head * head_dim] */
	float			*out;	/* [n][n_head * head_dim] */
	const float		*kc;	/* this block's keys [n_ctx][kv_dim] */
	const float		*vc;
	const int32_t		*pos;
	float			*scores;	/* [threads][n_ctx] */
};

static void
attn_task(void *arg, int task, int thread)
{
	struct attn_job *j = arg;
	const struct model_hparams *hp = &j->m->hp;
	int hd = hp->head_dim, h = task % hp->n_head, t = task / hp->n_head;
	int kvh = h / (hp->n_head / hp->n_head_kv), s, len = j->pos[t] + 1;
	size_t qd = (size_t)hp->n_head * hd;
	const float *q = j->q + t * qd + (size_t)h * hd;
	float *out = j->out + t * qd + (size_t)h * hd;
	float *sc = j->scores + (size_t)thread * j->kv->n_ctx, max = -INFINITY;
	float scale = 1.0f / sqrtf((float)hd);
	double sum = 0;

	for (s = 0; s < len; s++) {
		const float *k = j->kc + (size_t)s * j->kv->kv_dim +
		    (size_t)kvh * hd;

		sc[s] = dot_f32(q, k, hd) * scale;
		if (sc[s] > max)
			max = sc[s];
	}
	for (s = 0; s < len; s++) {
		sc[s] = expf(sc[s] - max);
		sum += sc[s];
	}
	memset(out, 0, hd * sizeof(float));
	for (s = 0; s < len; s++) {
		const float *v = j->vc + (size_t)s * j->kv->kv_dim +
		    (size_t)kvh * hd;
		float p = (float)(sc[s] / sum);

		axpy_f32(out, p, v, hd);
	}
}

int
model_forward_blocks(const struct model *m, struct pool *pool, uint32_t a,
    uint32_t b, float *hidden, const int32_t *pos, int n, struct kv_cache *kv,
    char **cause)
{
	const struct model_hparams *hp = &m->hp;
	size_t e = hp->n_embd, qd = (size_t)hp->n_head * hp->head_dim;
	size_t kvd = (size_t)hp->n_head_kv * hp->head_dim, f = hp->n_ff;
	float *xb, *q, *k, *v, *att, *gate, *up;
	struct attn_job aj;
	uint32_t l;
	int i, t, rc = -1;

	if (a < m->block_begin || b > m->block_end || a > b)
		return set_cause(cause, "blocks %u:%u not loaded (this model "
		    "holds %u:%u)", a, b, m->block_begin, m->block_end);
	if (a < kv->block_begin || b > kv->block_end)
		return set_cause(cause, "blocks %u:%u not in the kv cache (%u:%u)",
		    a, b, kv->block_begin, kv->block_end);
	if (n <= 0)
		return 0;
	if (pos[0] < 0 || (uint32_t)pos[0] > kv->n_filled)
		return set_cause(cause, "position %d skips ahead of the cache "
		    "(%u filled)", pos[0], kv->n_filled);
	for (i = 1; i < n; i++)
		if (pos[i] != pos[i - 1] + 1)
			return set_cause(cause, "positions must be consecutive");
	if ((uint64_t)pos[n - 1] >= kv->n_ctx)
		return set_cause(cause, "context length exceeded: position %d, "
		    "the cache holds %u", pos[n - 1], kv->n_ctx);

	xb = xmalloc(n * e * sizeof(float));
	q = xmalloc(n * qd * sizeof(float));
	k = xmalloc(n * kvd * sizeof(float));
	v = xmalloc(n * kvd * sizeof(float));
	att = xmalloc(n * qd * sizeof(float));
	gate = xmalloc(n * f * sizeof(float));
	up = xmalloc(n * f * sizeof(float));
	memset(&aj, 0, sizeof(aj));
	aj.scores = xmalloc((size_t)pool_size(pool) * kv->n_ctx * sizeof(float));

	for (l = a; l < b; l++) {
		const struct model_block *blk = &m->blocks[l];
		size_t off = (size_t)(l - kv->block_begin) * kv->n_ctx * kvd;

		/* attention rmsnorm */
		for (t = 0; t < n; t++)
			rmsnorm(xb + t * e, hidden + t * e, blk->attn_norm.data,
			    (int)e, hp->rms_eps);
		/* q, k, v projections (+ biases) */
		{
			const struct model_weight *w[3] = { &blk->wq, &blk->wk,
			    &blk->wv };
			float *o[3] = { q, k, v };

			model_matmul_group(pool, w, o, 3, xb, n);
		}
		add_bias(q, &blk->bq, n, (int)qd);
		add_bias(k, &blk->bk, n, (int)kvd);
		add_bias(v, &blk->bv, n, (int)kvd);
		/* RoPE, then keys and values into the cache */
		for (t = 0; t < n; t++) {
			rope(m, q + t * qd, hp->n_head, pos[t]);
			rope(m, k + t * kvd, hp->n_head_kv, pos[t]);
			memcpy(kv->k + off + (size_t)pos[t] * kvd, k + t * kvd,
			    kvd * sizeof(float));
			memcpy(kv->v + off + (size_t)pos[t] * kvd, v + t * kvd,
			    kvd * sizeof(float));
		}
		/* causal attention over the cache */
		aj.m = m;
		aj.kv = kv;
		aj.q = q;
		aj.out = att;
		aj.kc = kv->k + off;
		aj.vc = kv->v + off;
		aj.pos = pos;
		pool_run(pool, attn_task, &aj, n * (int)hp->n_head);
		/* output projection and residual */
		model_matmul(pool, &blk->wo, att, n, xb);
		for (i = 0; i < (int)(n * e); i++)
			hidden[i] += xb[i];
		/* ffn rmsnorm */
		for (t = 0; t < n; t++)
			rmsnorm(xb + t * e, hidden + t * e, blk->ffn_norm.data,
			    (int)e, hp->rms_eps);
		/* SwiGLU: down(silu(gate(x)) * up(x)) */
		{
			const struct model_weight *w[2] = { &blk->w_gate,
			    &blk->w_up };
			float *o[2] = { gate, up };

			model_matmul_group(pool, w, o, 2, xb, n);
		}
		swiglu(pool, gate, up, n * f);
		model_matmul(pool, &blk->w_down, gate, n, xb);
		/* residual */
		for (i = 0; i < (int)(n * e); i++)
			hidden[i] += xb[i];
	}
	kv->n_filled = (uint32_t)pos[n - 1] + 1;
	rc = 0;
	free(xb);
	free(q);
	free(k);
	free(v);
	free(att);
	free(gate);
	free(up);
	free(aj.scores);
	return rc;
}

int
model_head(const struct model *m, struct pool *pool, const float *hidden, int n,
    float *logits, char **cause)
{
	size_t e = m->hp.n_embd;
	float *xb;
	int t;

	if (m->output.data == NULL || m->output_norm.data == NULL)
		return set_cause(cause, "model: output head not loaded");
	xb = xmalloc(n * e * sizeof(float));
	/* final rmsnorm, then the vocabulary projection */
	for (t = 0; t < n; t++)
		rmsnorm(xb + t * e, hidden + t * e, m->output_norm.data, (int)e,
		    m->hp.rms_eps);
	model_matmul(pool, &m->output, xb, n, logits);
	free(xb);
	return 0;
}
