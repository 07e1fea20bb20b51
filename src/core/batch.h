/*
 * Batched decoding (continuous batching): the steps of every session that
 * is ready go through the blocks together, one pass over the weights for
 * all, each session with its own KV cache and position. A session joins
 * at the next step and leaves when its evaluation is done. A prompt is
 * fed in chunks between decode steps, so running streams never wait for
 * a whole long prefill: every step takes one row of each decoding session
 * and at most `chunk` rows of prompts, the oldest prompt first.
 *
 * The callers run the steps themselves, one at a time: a caller whose
 * step waits and finds no step running runs the next one (with the others
 * that wait), and the others block in batch_eval until theirs is done. A session's output is bit-identical to running it alone
 * (model_forward_rows mixes sessions only where the kernels allow it).
 */
#ifndef SWARM_CORE_BATCH_H
#define SWARM_CORE_BATCH_H

#include <pthread.h>
#include <stdint.h>

struct kv_cache;
struct model;
struct pool;

#define BATCH_CHUNK_DEFAULT	64
/* The longest a pass waits for sessions seen lately; how many it knows. */
#define BATCH_GATHER_MAX	0.05
#define BATCH_SEEN_MAX		256
#define BATCH_ROWS_MAX		512

struct batch_config {
	const struct model	*model;
	struct pool		*pool;
	/* Held around each step: the pool takes one job at a time. */
	pthread_mutex_t		*pool_mu;
	/* Blocks the steps run through (a node's span; 0:n_layer local). */
	uint32_t		 block_begin;
	uint32_t		 block_end;
	int			 chunk;		/* prompt rows per step */
	/* A node: when no step waits, the pool's threads sleep at once. */
	int			 idle_between;
};

struct batch	*batch_new(const struct batch_config *, char **cause);
/* Waits for the steps in flight, then frees the batcher. */
void		 batch_free(struct batch *);

/*
 * Evaluates tokens[n] at positions pos0.. of kv and writes logits: n rows
 * when all_logits is set, else the last row's (as a generate_backend's
 * eval). Blocks until done; safe from many threads, one per cache.
 */
int		 batch_eval(struct batch *, struct kv_cache *kv,
		    const int32_t *tokens, int n, int32_t pos0, int all_logits,
		    float *logits, char **cause);

/*
 * A node's step: blocks [a, e) over hidden[n][n_embd] in place, at
 * positions pos0.. of kv. Steps of one span run together. When prompts
 * wait for room in a step, those that have waited BATCH_AGE seconds go
 * first, then those of a priority caller (a node's creditors), then the
 * others, each in arrival order: nobody waits much past BATCH_AGE.
 */
#define BATCH_AGE	2.0
int		 batch_eval_hidden(struct batch *, struct kv_cache *kv,
		    uint32_t a, uint32_t e, float *hidden, int n, int32_t pos0,
		    int priority, char **cause);

/*
 * A client's head: logits[n][n_vocab] of hidden[n][n_embd] (the output
 * of the last node) for the session owner, computed together with the heads of the other
 * requests waiting, one pass over the output matrix for all.
 */
int		 batch_eval_head(struct batch *, const void *owner,
		    float *hidden, int n, float *logits, char **cause);

/*
 * A session is over: a pass no longer waits for it (sessions not seen for
 * a few passes are forgotten anyway; this is at once).
 */
void		 batch_forget(struct batch *, const void *owner);

/* What the batcher did, for -v, /metrics and the benchmarks. */
struct batch_stats {
	uint64_t	 steps;
	uint64_t	 rows;		/* rows evaluated, all steps */
	uint64_t	 max_sessions;	/* the most sessions in one step */
};
void		 batch_stats(struct batch *, struct batch_stats *);

#endif
