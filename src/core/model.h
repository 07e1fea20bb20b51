/*
 * Transformer models (architectures `llama` and `qwen2`) over a mapped GGUF
 * file, exposed as the three steps the swarm distributes:
 *
 *   model_embed(tokens)                           -> hidden
 *   model_forward_blocks(a, b, hidden, pos, kv)   -> hidden
 *   model_head(hidden)                            -> logits
 *
 * A node loads only the span of blocks it serves (plus the embedding and head
 * when it is a client), and keeps one kv_cache per session and span. Running
 * blocks [0,2) then [2,5) gives bit-identical results to running [0,5).
 */
#ifndef SWARM_CORE_MODEL_H
#define SWARM_CORE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/kv-cache.h"
#include "core/quant.h"

struct gguf_file;
struct pool;

enum model_arch {
	MODEL_ARCH_LLAMA,
	MODEL_ARCH_QWEN2,
};

struct model_hparams {
	enum model_arch	 arch;
	char		 arch_name[32];
	uint32_t	 n_vocab;
	uint32_t	 n_embd;
	uint32_t	 n_layer;	/* transformer blocks */
	uint32_t	 n_head;
	uint32_t	 n_head_kv;
	uint32_t	 head_dim;
	uint32_t	 n_ff;
	uint32_t	 n_ctx_train;
	uint32_t	 rope_dim;
	int		 rope_neox;	/* rotate halves, not adjacent pairs */
	float		 rope_theta;
	float		 rms_eps;
};

/*
 * A matrix of n_out rows of n_in elements, or a vector (n_out = 1). data
 * is the tensor as the file has it; x8, when not NULL, the same rows
 * interleaved by eight (quant.h), owned by the model and used for every
 * product.
 */
struct model_weight {
	const void	*data;
	enum ggml_type	 type;
	int64_t		 n_in;
	int64_t		 n_out;
	size_t		 row_bytes;
	void		*x8;
	void		*copy;		/* data's copy in large pages */
};

struct model_block {
	struct model_weight	attn_norm;	/* (n_embd) */
	struct model_weight	wq;		/* (n_embd, n_head * head_dim) */
	struct model_weight	wk;		/* (n_embd, n_head_kv * head_dim) */
	struct model_weight	wv;		/* (n_embd, n_head_kv * head_dim) */
	struct model_weight	wo;		/* (n_head * head_dim, n_embd) */
	struct model_weight	bq, bk, bv;	/* qwen2 only; data NULL otherwise */
	struct model_weight	ffn_norm;	/* (n_embd) */
	struct model_weight	w_gate;		/* (n_embd, n_ff) */
	struct model_weight	w_up;		/* (n_embd, n_ff) */
	struct model_weight	w_down;		/* (n_ff, n_embd) */
};

#define MODEL_LOAD_EMBED	0x1	/* token embedding */
#define MODEL_LOAD_HEAD		0x2	/* output norm and output matrix */
/* Use the matrices in the file's pages: by default those of a type with
 * an interleaved layout are repacked once at load, the others copied as
 * they are (either way into memory with large pages where the system
 * gives them; the file's pages are then given back), which decode
 * streams faster. */
#define MODEL_LOAD_PLAIN	0x4

struct model {
	struct model_hparams	 hp;
	const struct gguf_file	*gguf;
	uint32_t		 block_begin;	/* loaded span [begin, end) */
	uint32_t		 block_end;
	int			 flags;
	struct model_weight	 tok_embd;	/* (n_embd, n_vocab) */
	struct model_weight	 output_norm;	/* (n_embd) */
	struct model_weight	 output;	/* (n_embd, n_vocab); may be tok_embd */
	const float		*rope_freqs;	/* (rope_dim / 2) or NULL */
	struct model_block	*blocks;	/* n_layer entries; span filled */
};

/* Reads the hyper-parameters from the file's metadata. */
int		 model_read_hparams(const struct gguf_file *, struct model_hparams *,
		    char **cause);
/* Binds the tensors of blocks [a, b) (and embedding/head per flags); the
 * pool, if not NULL, does the load-time repacking. */
struct model	*model_load(const struct gguf_file *, uint32_t a, uint32_t b,
		    int flags, struct pool *pool, char **cause);
/*
 * What a long load reports, for a progress display: done of total bytes of
 * matrices prepared (repacked), called from the loading thread after each
 * matrix, first with done 0. Nothing is reported with MODEL_LOAD_PLAIN.
 */
struct model_progress {
	void	(*fn)(void *arg, uint64_t done, uint64_t total);
	void	*arg;
};
/* model_load, reporting to progress (may be NULL). */
struct model	*model_load_progress(const struct gguf_file *, uint32_t a,
		    uint32_t b, int flags, struct pool *,
		    const struct model_progress *, char **cause);
void		 model_free(struct model *);
/* Bytes of the matrices repacked or copied at load (0 with
 * MODEL_LOAD_PLAIN). */
size_t		 model_repacked_bytes(const struct model *);

/* hidden[n][n_embd] = embedding rows of tokens[n]. */
int	model_embed(const struct model *, const int32_t *tokens, int n,
	    float *hidden, char **cause);
/*
 * Runs blocks [a, b) over hidden[n][n_embd] in place. pos[i] is the position
 * of row i; positions must continue the cache (pos[0] <= kv->n_filled) and
 * increase by one. Rows are processed as one batch, in the cache's scratch
 * memory (kv_cache_scratch).
 */
int	model_forward_blocks(const struct model *, struct pool *, uint32_t a,
	    uint32_t b, float *hidden, const int32_t *pos, int n,
	    struct kv_cache *kv, char **cause);
/*
 * The rows of a pass that may mix sessions: row t is at position pos[t]
 * of cache kv[t]. A cache's rows are one run, continue the cache and
 * increase by one.
 */
struct model_rows {
	int			 n;
	const int32_t		*pos;
	struct kv_cache *const	*kv;
	/* Who each row belongs to, for model_head_rows without caches
	 * (NULL: kv tells the sessions apart). */
	const void *const	*owner;
};
/*
 * Runs blocks [a, b) over hidden[n][n_embd] in place for rows of many
 * caches at once (batched decoding: one pass over the weights for every
 * session ready for a step), in scratch's working memory. Each row's
 * output is the one it gets in a pass of its own cache's rows alone.
 */
int	model_forward_rows(const struct model *, struct pool *, uint32_t a,
	    uint32_t b, float *hidden, const struct model_rows *,
	    struct kv_cache *scratch, char **cause);
/* logits[n][n_vocab] from hidden[n][n_embd] (hidden is not modified). */
int	model_head(const struct model *, struct pool *, const float *hidden,
	    int n, float *logits, char **cause);
/*
 * The same for rows of many sessions (rows->owner, else rows->kv, tells
 * them apart; positions are not used): each row's logits are those it
 * gets alone.
 */
int	model_head_rows(const struct model *, struct pool *,
	    const float *hidden, const struct model_rows *, float *logits,
	    char **cause);

/* The bytes a product over w reads (the interleaved copy if any). */
const void *model_weight_bytes(const struct model_weight *w, size_t *n);
/* out[n][w->n_out] = in[n][w->n_in] x w^T, threaded. */
void	model_matmul(struct pool *, const struct model_weight *w,
	    const float *in, int n, float *out);
/*
 * out[i][n][w[i]->n_out] = in[n][n_in] x w[i]^T for up to three matrices
 * over one input (q/k/v, gate/up): the input is quantized once and every
 * product's tasks go out in one job. acts holds the quantized input: at
 * least the largest model_matmul_acts_bytes(w[i], n), or NULL to have one
 * allocated for the call.
 */
#define MODEL_MATMUL_MAX_PARTS	3
void	model_matmul_group(struct pool *, const struct model_weight *const *w,
	    float *const *out, int n_parts, const float *in, int n, void *acts);
/* Bytes of n input rows quantized for a product over w (0: w takes floats). */
size_t	model_matmul_acts_bytes(const struct model_weight *w, int n);

#endif
