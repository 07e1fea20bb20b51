/*
 * Batched decoding: a caller gathers the sessions that are ready and runs
 * their rows through the blocks in one pass. See batch.h.
 */
#include <pthread.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "core/kv-cache.h"
#include "core/model.h"
#include "core/pool.h"
#include "util/clock.h"
#include "core/batch.h"
#include "util/xmalloc.h"

/* One caller's evaluation, queued until its last row is done. */
struct batch_req {
	struct kv_cache		*kv;
	uint32_t		 block_begin;
	uint32_t		 block_end;
	const int32_t		*tokens;	/* NULL: hidden states in */
	float			*hidden;	/* [n][n_embd], in and out */
	int			 n;
	int32_t			 pos0;
	int			 all_logits;
	float			*logits;
	int			 priority;
	const void		*owner;		/* the session (its cache) */
	double			 queued;	/* clock_now() when it came */
	int			 planned;	/* in the step being planned */
	int			 done;		/* rows evaluated */
	int			 taken;		/* rows in the step running */
	int			 finished;
	int			 rc;
	char			*cause;
	struct batch_req	*next;
};

struct batch {
	struct batch_config	 cfg;
	pthread_mutex_t		 mu;
	pthread_cond_t		 work;		/* a request came, or stop */
	pthread_cond_t		 done;		/* a step finished */
	int			 leading;	/* a caller runs the passes */
	struct batch_req	*head;		/* in arrival order */
	struct batch_req	*tail;
	int			 stop;
	struct batch_stats	 stats;
	/* The sessions seen lately and when (for batch_gather). */
	const void		*seen[BATCH_SEEN_MAX];
	double			 seen_at[BATCH_SEEN_MAX];
	int			 n_seen;
	double			 last_pass;	/* seconds the last pass took */
	/* The step's rows, grown to the largest step, used by the thread. */
	struct batch_req	**step;
	int32_t			*pos;
	struct kv_cache		**kvs;
	float			*hidden;	/* [rows][n_embd] */
	float			*head_in;	/* rows that want logits */
	const void		**head_owner;	/* their requests */
	float			*logits;	/* [rows][n_vocab] */
	size_t			 cap_rows;
	size_t			 cap_step;
	struct kv_cache		 scratch;	/* only its working memory */
};

static void
batch_grow(struct batch *b, size_t rows, size_t nreq)
{
	size_t e = b->cfg.model->hp.n_embd, v = b->cfg.model->hp.n_vocab;

	if (nreq > b->cap_step) {
		b->step = xreallocarray(b->step, nreq, sizeof(*b->step));
		b->cap_step = nreq;
	}
	if (rows <= b->cap_rows)
		return;
	b->pos = xreallocarray(b->pos, rows, sizeof(*b->pos));
	b->kvs = xreallocarray(b->kvs, rows, sizeof(*b->kvs));
	b->head_owner = xreallocarray(b->head_owner, rows,
	    sizeof(*b->head_owner));
	b->hidden = xreallocarray(b->hidden, rows, e * sizeof(float));
	b->head_in = xreallocarray(b->head_in, rows, e * sizeof(float));
	b->logits = xreallocarray(b->logits, rows, v * sizeof(float));
	b->cap_rows = rows;
}

/*
 * The next step: one row of every session past its prompt, and pieces of
 * prompts up to `chunk` rows in all, the oldest prompt first. A prompt is
 * cut at every `chunk` rows from its start whatever else runs, so the
 * products its rows go through are the same as when it runs alone.
 * Called with mu held; returns the number of requests in b->step.
 */
static int
batch_plan(struct batch *b, int *n_rows)
{
	struct batch_req *r;
	double now = clock_now();
	int nreq = 0, rows = 0, budget = b->cfg.chunk, take, count = 0, pass;

	for (r = b->head; r != NULL; r = r->next) {
		r->planned = 0;
		count++;
	}
	batch_grow(b, b->cap_rows, (size_t)count);
	/* the aged first, then the priority callers, then the others */
	for (pass = 0; pass < 3; pass++)
	for (r = b->head; r != NULL; r = r->next) {
		if (r->planned || (pass == 0 && now - r->queued < BATCH_AGE) ||
		    (pass == 1 && !r->priority))
			continue;
		/* one step runs one span of blocks: the oldest request's */
		if (r->block_begin != b->head->block_begin ||
		    r->block_end != b->head->block_end)
			continue;
		take = r->n - r->done;
		if (take > 1) {
			if (take > b->cfg.chunk)
				take = b->cfg.chunk;
			if (take > budget)
				continue;
			budget -= take;
		}
		if (rows + take > BATCH_ROWS_MAX && nreq > 0)
			continue;
		r->taken = take;
		r->planned = 1;
		b->step[nreq++] = r;
		rows += take;
	}
	*n_rows = rows;
	return nreq;
}

/* Runs the planned rows; the pool is held. Returns 0 or -1 with *cause. */
static int
batch_run(struct batch *b, int nreq, int n_rows, char **cause)
{
	const struct model *m = b->cfg.model;
	size_t e = m->hp.n_embd, v = m->hp.n_vocab;
	struct model_rows rows, head;
	struct batch_req *r;
	int i = 0, k, q, h = 0, last;

	batch_grow(b, (size_t)n_rows, 0);
	for (q = 0; q < nreq; q++) {
		r = b->step[q];
		for (k = 0; k < r->taken; k++, i++) {
			if (r->tokens != NULL &&
			    model_embed(m, &r->tokens[r->done + k], 1,
			    b->hidden + (size_t)i * e, cause) != 0)
				return -1;
			if (r->tokens == NULL)
				memcpy(b->hidden + (size_t)i * e, r->hidden +
				    (size_t)(r->done + k) * e, e * sizeof(float));
			b->pos[i] = r->pos0 + r->done + k;
			b->kvs[i] = r->kv;
		}
	}
	rows.n = n_rows;
	rows.pos = b->pos;
	rows.kv = b->kvs;
	rows.owner = NULL;
	/* no blocks: a client's heads, batched */
	if (b->step[0]->block_begin < b->step[0]->block_end &&
	    model_forward_rows(m, b->cfg.pool, b->step[0]->block_begin,
	    b->step[0]->block_end, b->hidden, &rows, &b->scratch, cause) != 0)
		return -1;
	for (q = 0, i = 0; q < nreq; i += b->step[q]->taken, q++) {
		r = b->step[q];
		if (r->tokens == NULL)
			memcpy(r->hidden + (size_t)r->done * e, b->hidden +
			    (size_t)i * e, (size_t)r->taken * e *
			    sizeof(float));
	}
	/* the rows that want logits: all of a prompt's, or its last */
	for (q = 0, i = 0; q < nreq; i += b->step[q]->taken, q++) {
		r = b->step[q];
		if (r->logits == NULL)
			continue;
		last = r->done + r->taken == r->n;
		for (k = r->all_logits ? 0 : r->taken - 1; k < r->taken; k++) {
			if (!r->all_logits && !last)
				break;
			memcpy(b->head_in + (size_t)h * e, b->hidden +
			    (size_t)(i + k) * e, e * sizeof(float));
			b->head_owner[h++] = r;
		}
	}
	head.n = h;
	head.pos = NULL;
	head.kv = NULL;
	head.owner = b->head_owner;
	if (h > 0 && model_head_rows(m, b->cfg.pool, b->head_in, &head,
	    b->logits, cause) != 0)
		return -1;
	for (q = 0, h = 0; q < nreq; q++) {
		r = b->step[q];
		if (r->logits == NULL)
			continue;
		if (r->all_logits) {
			memcpy(r->logits + (size_t)r->done * v, b->logits +
			    (size_t)h * v, (size_t)r->taken * v * sizeof(float));
			h += r->taken;
		} else if (r->done + r->taken == r->n) {
			memcpy(r->logits, b->logits + (size_t)h * v,
			    v * sizeof(float));
			h++;
		}
	}
	return 0;
}

/* Records the step's outcome and drops finished requests; mu held. */
static void
batch_settle(struct batch *b, int nreq, int n_rows, int rc, const char *cause)
{
	struct batch_req *r, *next, *keep;
	int q;

	for (q = 0; q < nreq; q++) {
		r = b->step[q];
		r->done += r->taken;
		r->taken = 0;
		if (rc != 0) {
			r->rc = -1;
			r->cause = xstrdup(cause != NULL ? cause : "batch "
			    "step failed");
		}
		if (rc != 0 || r->done == r->n)
			r->finished = 1;
	}
	/* keep the unfinished, in their order */
	keep = b->head;
	b->head = b->tail = NULL;
	for (r = keep; r != NULL; r = next) {
		next = r->next;
		if (r->finished)
			continue;
		r->next = NULL;
		if (b->tail != NULL)
			b->tail->next = r;
		else
			b->head = r;
		b->tail = r;
	}
	b->stats.steps++;
	b->stats.rows += (uint64_t)n_rows;
	if ((uint64_t)nreq > b->stats.max_sessions)
		b->stats.max_sessions = (uint64_t)nreq;
	pthread_cond_broadcast(&b->done);
}

/* Notes the sessions of a pass and forgets those not seen lately. */
static void
batch_seen(struct batch *b, int nreq, double now)
{
	double forget = 4 * b->last_pass + 0.1;
	int q, i, j;

	for (q = 0; q < nreq; q++) {
		for (i = 0; i < b->n_seen; i++)
			if (b->seen[i] == b->step[q]->owner)
				break;
		if (i == b->n_seen && b->n_seen == BATCH_SEEN_MAX)
			continue;
		if (i == b->n_seen)
			b->n_seen++;
		b->seen[i] = b->step[q]->owner;
		b->seen_at[i] = now;
	}
	for (i = j = 0; i < b->n_seen; i++) {
		if (now - b->seen_at[i] > forget)
			continue;
		b->seen[j] = b->seen[i];
		b->seen_at[j++] = b->seen_at[i];
	}
	b->n_seen = j;
}

/*
 * Fewer requests wait than sessions were seen lately: the others are on
 * their way (sampling their next token, or a hop away through the swarm).
 * Wait for them a while, at most as long as a pass takes (and
 * BATCH_GATHER_MAX), so the sessions go through the weights together
 * instead of in small staggered passes. One session alone never waits; a
 * session that ended is forgotten after a few passes. mu is held.
 */
static void
batch_gather(struct batch *b)
{
	struct batch_req *r;
	struct timespec until;
	double wait = 3 * b->last_pass < BATCH_GATHER_MAX ? 3 * b->last_pass :
	    BATCH_GATHER_MAX, end, left;
	int count;

	if (b->n_seen <= 1 || wait <= 0)
		return;
	end = clock_now() + wait;
	for (;;) {
		for (count = 0, r = b->head; r != NULL; r = r->next)
			count++;
		left = end - clock_now();
		if (count >= b->n_seen || b->stop || left <= 0)
			return;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)(left * 1e9);
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&b->work, &b->mu, &until);
	}
}

/*
 * One pass, run by the caller that leads (mu held on entry and on return):
 * the thread whose step is queued runs the pass itself, so that a session
 * alone costs no hand-off to another thread and back (two wake-ups per
 * step, each one a scheduling delay when the cores are shared).
 */
static void
batch_lead(struct batch *b)
{
	char *cause = NULL;
	int nreq, n_rows, rc;
	double t0;

	batch_gather(b);
	if (b->head == NULL)
		return;
	nreq = batch_plan(b, &n_rows);
	pthread_mutex_unlock(&b->mu);
	if (b->cfg.pool_mu != NULL)
		pthread_mutex_lock(b->cfg.pool_mu);
	t0 = clock_now();
	rc = batch_run(b, nreq, n_rows, &cause);
	b->last_pass = clock_now() - t0;
	pthread_mutex_lock(&b->mu);
	batch_seen(b, nreq, clock_now());
	batch_settle(b, nreq, n_rows, rc, cause);
	/* nothing more to do now: free the cores for others */
	if (b->head == NULL && b->cfg.idle_between)
		pool_idle(b->cfg.pool);
	pthread_mutex_unlock(&b->mu);
	if (b->cfg.pool_mu != NULL)
		pthread_mutex_unlock(b->cfg.pool_mu);
	pthread_mutex_lock(&b->mu);
	free(cause);
}

struct batch *
batch_new(const struct batch_config *cfg, char **cause)
{
	struct batch *b = xcalloc(1, sizeof(*b));

	b->cfg = *cfg;
	if (b->cfg.chunk <= 0)
		b->cfg.chunk = BATCH_CHUNK_DEFAULT;
	if (b->cfg.chunk > BATCH_ROWS_MAX)
		b->cfg.chunk = BATCH_ROWS_MAX;
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->work, NULL);
	pthread_cond_init(&b->done, NULL);
	return b;
}

void
batch_free(struct batch *b)
{
	if (b == NULL)
		return;
	pthread_mutex_lock(&b->mu);
	b->stop = 1;
	pthread_cond_broadcast(&b->work);
	while (b->head != NULL || b->leading)
		pthread_cond_wait(&b->done, &b->mu);
	pthread_mutex_unlock(&b->mu);
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->work);
	pthread_cond_destroy(&b->done);
	free(b->step);
	free(b->pos);
	free(b->kvs);
	free(b->head_owner);
	free(b->hidden);
	free(b->head_in);
	free(b->logits);
	free(b->scratch.scratch);
	free(b);
}

/* What model_forward_rows would refuse, refused before the queue. */
static int
batch_check(const struct batch *b, const struct batch_req *r, char **cause)
{
	const struct model *m = b->cfg.model;
	const struct kv_cache *kv = r->kv;
	const int32_t *tokens = r->tokens;
	uint32_t n_vocab = m->hp.n_vocab;
	int32_t pos0 = r->pos0;
	int i, n = r->n;

	if (n <= 0)
		return set_cause(cause, "nothing to evaluate");
	if (kv == NULL)		/* the head alone */
		return r->block_begin == r->block_end && tokens == NULL &&
		    r->logits != NULL && m->output.data != NULL ? 0 :
		    set_cause(cause, "a head-only evaluation needs the head "
		    "and hidden states");
	if (pos0 < 0 || (uint32_t)pos0 > kv->n_filled)
		return set_cause(cause, "position %d skips ahead of the cache "
		    "(%u filled)", pos0, kv->n_filled);
	if ((uint64_t)pos0 + (uint64_t)n > kv->n_ctx)
		return set_cause(cause, "context length exceeded: position "
		    "%d, the cache holds %u", pos0 + n - 1, kv->n_ctx);
	if (r->block_begin < m->block_begin || r->block_end > m->block_end ||
	    r->block_begin > r->block_end)
		return set_cause(cause, "blocks %u:%u not loaded (this model "
		    "holds %u:%u)", r->block_begin, r->block_end,
		    m->block_begin, m->block_end);
	if (kv->block_begin > r->block_begin || kv->block_end < r->block_end)
		return set_cause(cause, "blocks %u:%u not in the kv cache "
		    "(%u:%u)", r->block_begin, r->block_end, kv->block_begin,
		    kv->block_end);
	if (tokens != NULL && (m->tok_embd.data == NULL ||
	    (r->logits != NULL && m->output.data == NULL)))
		return set_cause(cause, "model: embedding or head not loaded");
	for (i = 0; tokens != NULL && i < n; i++)
		if (tokens[i] < 0 || (uint32_t)tokens[i] >= n_vocab)
			return set_cause(cause, "token %d out of range "
			    "(vocabulary of %u)", tokens[i], n_vocab);
	return 0;
}

/* Queues r and waits for its last row. */
static int
batch_wait(struct batch *b, struct batch_req *r, char **cause)
{
	if (batch_check(b, r, cause) != 0)
		return -1;
	r->queued = clock_now();
	pthread_mutex_lock(&b->mu);
	if (b->tail != NULL)
		b->tail->next = r;
	else
		b->head = r;
	b->tail = r;
	/* a leader gathering sessions for its pass takes this one along */
	pthread_cond_signal(&b->work);
	while (!r->finished) {
		if (b->leading) {
			pthread_cond_wait(&b->done, &b->mu);
			continue;
		}
		b->leading = 1;
		batch_lead(b);
		b->leading = 0;
		/* the requests left over need a leader: one of theirs */
		pthread_cond_broadcast(&b->done);
	}
	pthread_mutex_unlock(&b->mu);
	if (r->rc != 0) {
		*cause = r->cause;
		return -1;
	}
	return 0;
}

int
batch_eval(struct batch *b, struct kv_cache *kv, const int32_t *tokens, int n,
    int32_t pos0, int all_logits, float *logits, char **cause)
{
	struct batch_req r;

	memset(&r, 0, sizeof(r));
	r.kv = kv;
	r.owner = kv;
	r.block_begin = b->cfg.block_begin;
	r.block_end = b->cfg.block_end;
	r.tokens = tokens;
	r.n = n;
	r.pos0 = pos0;
	r.all_logits = all_logits;
	r.logits = logits;
	return batch_wait(b, &r, cause);
}

int
batch_eval_head(struct batch *b, const void *owner, float *hidden, int n,
    float *logits, char **cause)
{
	struct batch_req r;

	memset(&r, 0, sizeof(r));
	r.owner = owner;
	r.hidden = hidden;
	r.n = n;
	r.all_logits = 1;
	r.logits = logits;
	return batch_wait(b, &r, cause);
}

int
batch_eval_hidden(struct batch *b, struct kv_cache *kv, uint32_t a, uint32_t e,
    float *hidden, int n, int32_t pos0, int priority, char **cause)
{
	struct batch_req r;

	memset(&r, 0, sizeof(r));
	r.kv = kv;
	r.owner = kv;
	r.block_begin = a;
	r.block_end = e;
	r.hidden = hidden;
	r.n = n;
	r.pos0 = pos0;
	r.priority = priority;
	return batch_wait(b, &r, cause);
}

void
batch_forget(struct batch *b, const void *owner)
{
	int i;

	if (b == NULL)
		return;
	pthread_mutex_lock(&b->mu);
	for (i = 0; i < b->n_seen; i++)
		if (b->seen[i] == owner) {
			b->seen[i] = b->seen[--b->n_seen];
			b->seen_at[i] = b->seen_at[b->n_seen];
			break;
		}
	/* a pass gathering for it need not wait any longer */
	pthread_cond_signal(&b->work);
	pthread_mutex_unlock(&b->mu);
}

void
batch_stats(struct batch *b, struct batch_stats *out)
{
	pthread_mutex_lock(&b->mu);
	*out = b->stats;
	pthread_mutex_unlock(&b->mu);
}
