/*
 * Loading a model: the hyper-parameters from the GGUF metadata, the tensors
 * of the span of blocks a node serves (plus the embedding and head when
 * asked) bound in place over the mapped file with their shapes checked, and
 * the matrices of a type with an interleaved layout repacked once, on the
 * pool's threads, into copies that decode streams faster; the others are
 * copied as they are, for the large pages alone.
 */
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
model_load_u32(const struct gguf_file *gf, const char *arch, const char *key,
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

	if (model_load_u32(gf, a, "embedding_length", &hp->n_embd, 1, cause) ||
	    model_load_u32(gf, a, "block_count", &hp->n_layer, 1, cause) ||
	    model_load_u32(gf, a, "feed_forward_length", &hp->n_ff, 1, cause) ||
	    model_load_u32(gf, a, "attention.head_count", &hp->n_head, 1,
	    cause))
		return -1;
	hp->n_head_kv = hp->n_head;
	if (model_load_u32(gf, a, "attention.head_count_kv", &hp->n_head_kv, 0,
	    cause) < 0)
		return -1;
	hp->n_ctx_train = 2048;
	model_load_u32(gf, a, "context_length", &hp->n_ctx_train, 0, cause);
	if (hp->n_embd == 0 || hp->n_embd > MODEL_MAX_DIM || hp->n_ff == 0 ||
	    hp->n_ff > MODEL_MAX_DIM || hp->n_layer == 0 ||
	    hp->n_layer > MODEL_MAX_LAYERS || hp->n_head == 0 ||
	    hp->n_head > hp->n_embd || hp->n_head_kv == 0 ||
	    hp->n_head % hp->n_head_kv != 0)
		return set_cause(cause, "'%s': inconsistent hyper-parameters "
		    "(embedding %u, ffn %u, blocks %u, heads %u/%u)", gf->path,
		    hp->n_embd, hp->n_ff, hp->n_layer, hp->n_head, hp->n_head_kv);
	hp->head_dim = hp->n_embd / hp->n_head;
	if (model_load_u32(gf, a, "attention.key_length", &v, 0, cause) == 0)
		hp->head_dim = v;
	if (hp->head_dim == 0 || hp->head_dim > 4096 || hp->head_dim % 2 != 0)
		return set_cause(cause, "'%s': invalid head dimension %u",
		    gf->path, hp->head_dim);
	hp->rope_dim = hp->head_dim;
	if (model_load_u32(gf, a, "rope.dimension_count", &v, 0, cause) == 0)
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
model_load_bind(const struct gguf_file *gf, const char *name, int64_t n_in,
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
model_load_block(const struct gguf_file *gf, const struct model_hparams *hp,
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
	if (model_load_bind(gf, n[0], e, 1, 0, &b->attn_norm, cause) ||
	    model_load_bind(gf, n[1], e, qd, 0, &b->wq, cause) ||
	    model_load_bind(gf, n[2], e, kvd, 0, &b->wk, cause) ||
	    model_load_bind(gf, n[3], e, kvd, 0, &b->wv, cause) ||
	    model_load_bind(gf, n[4], qd, e, 0, &b->wo, cause) ||
	    model_load_bind(gf, n[5], qd, 1, !bias, &b->bq, cause) ||
	    model_load_bind(gf, n[6], kvd, 1, !bias, &b->bk, cause) ||
	    model_load_bind(gf, n[7], kvd, 1, !bias, &b->bv, cause) ||
	    model_load_bind(gf, n[8], e, 1, 0, &b->ffn_norm, cause) ||
	    model_load_bind(gf, n[9], e, f, 0, &b->w_gate, cause) ||
	    model_load_bind(gf, n[10], e, f, 0, &b->w_up, cause) ||
	    model_load_bind(gf, n[11], f, e, 0, &b->w_down, cause))
		return -1;
	return 0;
}

/* Large pages for a large copy where the system gives them on request:
 * a fraction of the page faults at load, fewer TLB misses when streamed. */
static void
model_load_advise_huge(void *p, size_t n)
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

/*
 * Memory for a matrix's copy, in large pages where the system gives them
 * on request: streaming 4 KiB pages, each page's TLB miss and the
 * hardware prefetcher stopping at its boundary cost a single core about a
 * fifth of its read bandwidth (measured 22.7 against 27.7 GB/s on a Zen 4
 * host). A large copy is aligned to a large page so that all of it can
 * have them; a small one is not rounded up to one.
 */
#define MODEL_LOAD_HUGE	((size_t)2 << 20)

static void *
model_load_alloc_huge(size_t n)
{
	size_t align = n >= 2 * MODEL_LOAD_HUGE ? MODEL_LOAD_HUGE : 64;
	void *p;

	n = (n + align - 1) & ~(align - 1);
	if (n == 0 || (p = aligned_alloc(align, n)) == NULL)
		return NULL;
	model_load_advise_huge(p, n);
	return p;
}

/* The file's pages of w given back (read again if anything touches them). */
static void
model_load_release_file(const struct gguf_file *gf,
    const struct model_weight *w)
{
	uint32_t i;

	for (i = 0; i < gf->n_tensors; i++) {
		if (gf->tensors[i].data == w->data) {
			gguf_advise_tensor(gf, &gf->tensors[i], 0);
			break;
		}
	}
}

/* The rows of one matrix repacked in tasks of whole panels. */
struct model_load_interleave_job {
	const struct model_weight	*w;
	int64_t				 rows_per_task;
};
#define MODEL_LOAD_INTERLEAVE_ROWS	256	/* whole QUANT_X8_ROWS panels */

static void
model_load_interleave_task(void *arg, int task, int thread)
{
	const struct model_load_interleave_job *j = arg;
	const struct model_weight *w = j->w;
	int64_t r0 = (int64_t)task * j->rows_per_task, n = w->n_out - r0;
	size_t off = (size_t)r0 * w->row_bytes;

	(void)thread;
	if (n > j->rows_per_task)
		n = j->rows_per_task;
	if (w->x8 != NULL)
		(void)quant_x8_pack(w->type, w->n_in, (const char *)w->data +
		    off, w->row_bytes, n, (char *)w->x8 + off);
	else
		memcpy((char *)w->copy + off, (const char *)w->data + off,
		    (size_t)n * w->row_bytes);
}

/* Matrices smaller than this stay in the file's pages: too few large
 * pages to matter. */
#define MODEL_LOAD_COPY_MIN	((size_t)4 << 20)

/* Bytes model_load_interleave will repack or copy for w. */
static uint64_t
model_load_x8_bytes(const struct model_weight *w)
{
	size_t n;

	if (w->data == NULL || w->n_out < 2)
		return 0;
	if (quant_x8_supported(w->type))
		return quant_x8_bytes(w->type, w->n_in, w->n_out);
	n = w->row_bytes * (size_t)w->n_out;
	return n >= MODEL_LOAD_COPY_MIN ? n : 0;
}

/*
 * Repacks a matrix into its interleaved layout when its type has one, on
 * the pool's threads when there is a pool, then gives the file's pages of
 * it back (they are read again from the file if anything touches them).
 * Without memory for the copy the matrix stays as it is: slower, not
 * wrong.
 */
static void
model_load_interleave(const struct gguf_file *gf, struct pool *pool,
    struct model_weight *w)
{
	struct model_load_interleave_job j;
	int tasks, t;
	size_t n;
	void *p;

	if ((n = model_load_x8_bytes(w)) == 0 ||
	    (p = model_load_alloc_huge(n)) == NULL)
		return;
	if (quant_x8_supported(w->type))
		w->x8 = p;
	else
		w->copy = p;
	j.w = w;
	j.rows_per_task = MODEL_LOAD_INTERLEAVE_ROWS;
	tasks = (int)((w->n_out + j.rows_per_task - 1) / j.rows_per_task);
	if (pool != NULL) {
		pool_run(pool, model_load_interleave_task, &j, tasks);
	} else {
		for (t = 0; t < tasks; t++)
			model_load_interleave_task(&j, t, 0);
	}
	model_load_release_file(gf, w);
	if (w->copy != NULL)
		w->data = w->copy;
}

static void
model_load_block_matrices(struct model_block *b, struct model_weight **w)
{
	w[0] = &b->wq;
	w[1] = &b->wk;
	w[2] = &b->wv;
	w[3] = &b->wo;
	w[4] = &b->w_gate;
	w[5] = &b->w_up;
	w[6] = &b->w_down;
}
#define MODEL_LOAD_BLOCK_MATRICES	7

struct model *
model_load(const struct gguf_file *gf, uint32_t a, uint32_t b, int flags,
    struct pool *pool, char **cause)
{
	return model_load_progress(gf, a, b, flags, pool, NULL, cause);
}

struct model *
model_load_progress(const struct gguf_file *gf, uint32_t a, uint32_t b,
    int flags, struct pool *pool, const struct model_progress *progress,
    char **cause)
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
		if (model_load_block(gf, &m->hp, l, &m->blocks[l], cause) != 0)
			goto fail;
	if ((flags & (MODEL_LOAD_EMBED | MODEL_LOAD_HEAD)) != 0 &&
	    model_load_bind(gf, "token_embd.weight", m->hp.n_embd,
	    m->hp.n_vocab, 0, &m->tok_embd, cause) != 0)
		goto fail;
	if (flags & MODEL_LOAD_HEAD) {
		if (model_load_bind(gf, "output_norm.weight", m->hp.n_embd, 1,
		    0, &m->output_norm, cause) != 0 ||
		    model_load_bind(gf, "output.weight", m->hp.n_embd,
		    m->hp.n_vocab, 1, &m->output, cause) != 0)
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
		struct model_weight *w[MODEL_LOAD_BLOCK_MATRICES];
		/* a tied output is the embedding too, which needs the rows */
		int i, head = (flags & MODEL_LOAD_HEAD) &&
		    m->output.data != m->tok_embd.data;
		uint64_t done = 0, total = 0;

		for (l = a; l < b; l++) {
			model_load_block_matrices(&m->blocks[l], w);
			for (i = 0; i < MODEL_LOAD_BLOCK_MATRICES; i++)
				total += model_load_x8_bytes(w[i]);
		}
		if (head)
			total += model_load_x8_bytes(&m->output);
		if (progress != NULL && total > 0)
			progress->fn(progress->arg, 0, total);
		for (l = a; l < b; l++) {
			model_load_block_matrices(&m->blocks[l], w);
			for (i = 0; i < MODEL_LOAD_BLOCK_MATRICES; i++) {
				model_load_interleave(gf, pool, w[i]);
				done += model_load_x8_bytes(w[i]);
				if (progress != NULL && total > 0)
					progress->fn(progress->arg, done, total);
			}
		}
		if (head) {
			model_load_interleave(gf, pool, &m->output);
			if (progress != NULL && total > 0)
				progress->fn(progress->arg, total, total);
		}
	}
	return m;
fail:
	model_free(m);
	return NULL;
}

void
model_free(struct model *m)
{
	struct model_weight *w[MODEL_LOAD_BLOCK_MATRICES];
	uint32_t l;
	int i;

	if (m == NULL)
		return;
	for (l = m->block_begin; m->blocks != NULL && l < m->block_end; l++) {
		model_load_block_matrices(&m->blocks[l], w);
		for (i = 0; i < MODEL_LOAD_BLOCK_MATRICES; i++) {
			free(w[i]->x8);
			free(w[i]->copy);
		}
	}
	/* never the embedding's: that stays in the file */
	free(m->output.x8);
	free(m->output.copy);
	free(m->blocks);
	free(m);
}

static size_t
model_load_repacked(const struct model_weight *w)
{
	if (w->x8 != NULL)
		return quant_x8_bytes(w->type, w->n_in, w->n_out);
	return w->copy != NULL ? w->row_bytes * (size_t)w->n_out : 0;
}

size_t
model_repacked_bytes(const struct model *m)
{
	struct model_weight *w[MODEL_LOAD_BLOCK_MATRICES];
	size_t n = model_load_repacked(&m->output);
	uint32_t l;
	int i;

	for (l = m->block_begin; m->blocks != NULL && l < m->block_end; l++) {
		model_load_block_matrices(&m->blocks[l], w);
		for (i = 0; i < MODEL_LOAD_BLOCK_MATRICES; i++)
			n += model_load_repacked(w[i]);
	}
	return n;
}
