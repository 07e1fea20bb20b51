/*
 * Tests for src/core/batch.c: sessions evaluated together, from many
 * threads, get the bits they get alone, whatever the interleaving; prompts
 * longer than a chunk are cut at the same rows either way; bad requests
 * are refused before the queue and do not disturb the others.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "core/batch.h"
#include "core/gguf.h"
#include "core/kv-cache.h"
#include "core/model.h"
#include "core/pool.h"

enum { SESSIONS = 6, STEPS = 12, CHUNK = 16 };

struct session {
	struct batch		*b;
	const struct model	*m;
	struct kv_cache		*kv;
	int			 n_prompt;
	int32_t			 tokens[128];
	float			*logits;	/* the last step's */
	int32_t			 last;		/* greedy tokens, summed */
	int			 rc;
};

static int32_t
argmax(const float *v, uint32_t n)
{
	uint32_t i, best = 0;

	for (i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return (int32_t)best;
}

/* A prompt, then STEPS greedy tokens, each fed back. */
static void *
session_run(void *arg)
{
	struct session *s = arg;
	char *cause = NULL;
	int32_t pos = 0, t;
	int i;

	s->rc = batch_eval(s->b, s->kv, s->tokens, s->n_prompt, 0, 0,
	    s->logits, &cause);
	pos = s->n_prompt;
	for (i = 0; i < STEPS && s->rc == 0; i++) {
		t = argmax(s->logits, s->m->hp.n_vocab);
		s->last += t;
		s->rc = batch_eval(s->b, s->kv, &t, 1, pos++, 0, s->logits,
		    &cause);
	}
	free(cause);
	return NULL;
}

static void
check_batch_threads(const char *path)
{
	char *cause = NULL;
	struct gguf_file *gf = gguf_open(path, &cause);
	struct pool *pool = pool_new(2);
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	struct model *m;
	struct batch *b;
	struct session alone[SESSIONS], together[SESSIONS];
	pthread_t th[SESSIONS];
	struct batch_stats st;
	int i, j;

	CHECKF(gf != NULL, "%s: %s", path, cause);
	{
		struct model_hparams hp;

		CHECK(model_read_hparams(gf, &hp, &cause) == 0);
		m = model_load(gf, 0, hp.n_layer, MODEL_LOAD_EMBED |
		    MODEL_LOAD_HEAD, pool, &cause);
	}
	CHECKF(m != NULL, "%s", cause);
	b = batch_new(&(struct batch_config){ .model = m, .pool = pool,
	    .pool_mu = &mu, .block_begin = 0, .block_end = m->hp.n_layer,
	    .chunk = CHUNK }, &cause);
	CHECK(b != NULL);
	for (i = 0; i < SESSIONS; i++) {
		struct session *s[2] = { &alone[i], &together[i] };

		for (j = 0; j < 2; j++) {
			memset(s[j], 0, sizeof(*s[j]));
			s[j]->b = b;
			s[j]->m = m;
			s[j]->kv = kv_cache_new(m, 0, m->hp.n_layer, 256,
			    &cause);
			/* prompts of 1 to 81 tokens: several chunks */
			s[j]->n_prompt = 1 + i * i * 3 - (i > 2 ? i : 0);
			for (int k = 0; k < s[j]->n_prompt; k++)
				s[j]->tokens[k] = (int32_t)((i * 31 + k * 7 +
				    1) % m->hp.n_vocab);
			s[j]->logits = malloc(m->hp.n_vocab * sizeof(float));
		}
		session_run(&alone[i]);
		CHECK(alone[i].rc == 0);
	}
	for (i = 0; i < SESSIONS; i++)
		pthread_create(&th[i], NULL, session_run, &together[i]);
	for (i = 0; i < SESSIONS; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < SESSIONS; i++) {
		CHECK(together[i].rc == 0);
		CHECKF(together[i].last == alone[i].last && memcmp(
		    together[i].logits, alone[i].logits, m->hp.n_vocab *
		    sizeof(float)) == 0, "%s: session %d differs together",
		    path, i);
	}
	batch_stats(b, &st);
	CHECKF(st.max_sessions > 1, "never more than one session a step");
	/* refused before the queue: out of context, a bad token */
	{
		int32_t bad = (int32_t)m->hp.n_vocab;

		CHECK(batch_eval(b, together[0].kv, &bad, 1,
		    (int32_t)together[0].kv->n_filled, 0, together[0].logits,
		    &cause) == -1);
		CHECK(strstr(cause, "out of range") != NULL);
		free(cause);
		cause = NULL;
		CHECK(batch_eval(b, together[0].kv, together[0].tokens, 1,
		    (int32_t)together[0].kv->n_filled + 3, 0,
		    together[0].logits, &cause) == -1);
		CHECK(strstr(cause, "skips ahead") != NULL);
		free(cause);
	}
	batch_free(b);
	for (i = 0; i < SESSIONS; i++) {
		kv_cache_free(alone[i].kv);
		kv_cache_free(together[i].kv);
		free(alone[i].logits);
		free(together[i].logits);
	}
	model_free(m);
	pool_free(pool);
	gguf_close(gf);
}

static void
test_batch_threads_identical(void)
{
	char path[512];

	/* F32: each session's rows are products of their own */
	snprintf(path, sizeof(path), "%s/stories260K.gguf", test_models_dir());
	check_batch_threads(path);
	/* Q4_K_M: rows of different sessions share the products */
	snprintf(path, sizeof(path), "%s/synth/synth-llama-Q4_K_M.gguf",
	    test_models_dir());
	check_batch_threads(path);
}

/* A client's heads: many threads, logits as model_head gives alone. */
struct head_job {
	struct batch	*b;
	float		*hidden;
	float		*logits;
	int		 rc;
};

static void *
head_run(void *arg)
{
	struct head_job *j = arg;
	char *cause = NULL;
	int i;

	for (i = 0; i < 20 && j->rc == 0; i++)
		j->rc = batch_eval_head(j->b, j, j->hidden, 2, j->logits,
		    &cause);
	free(cause);
	return NULL;
}

static void
test_batch_heads(void)
{
	char path[512], *cause = NULL;
	struct gguf_file *gf;
	struct pool *pool = pool_new(2);
	struct model_hparams hp;
	struct model *m;
	struct batch *b;
	struct head_job j[4];
	pthread_t th[4];
	float *want;
	size_t e, v;
	int i, k;

	snprintf(path, sizeof(path), "%s/stories260K.gguf", test_models_dir());
	gf = gguf_open(path, &cause);
	CHECK(gf != NULL && model_read_hparams(gf, &hp, &cause) == 0);
	/* a client holds the embedding and the head, no block */
	m = model_load(gf, 0, 0, MODEL_LOAD_EMBED | MODEL_LOAD_HEAD, pool,
	    &cause);
	CHECKF(m != NULL, "%s", cause);
	e = hp.n_embd;
	v = hp.n_vocab;
	b = batch_new(&(struct batch_config){ .model = m, .pool = pool,
	    .block_begin = 0, .block_end = 0, .idle_between = 1 }, &cause);
	CHECK(b != NULL);
	want = malloc(4 * 2 * v * sizeof(float));
	for (i = 0; i < 4; i++) {
		j[i].b = b;
		j[i].rc = 0;
		j[i].hidden = malloc(2 * e * sizeof(float));
		j[i].logits = malloc(2 * v * sizeof(float));
		for (k = 0; k < (int)(2 * e); k++)
			j[i].hidden[k] = (float)((i * 13 + k * 7) % 17) / 8.0f -
			    1.0f;
		CHECK(model_head(m, pool, j[i].hidden, 2, want + i * 2 * v,
		    &cause) == 0);
	}
	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, head_run, &j[i]);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < 4; i++) {
		CHECK(j[i].rc == 0);
		CHECKF(memcmp(j[i].logits, want + i * 2 * v, 2 * v *
		    sizeof(float)) == 0, "head %d differs batched", i);
	}
	/* a head-only model refuses blocks */
	CHECK(batch_eval_hidden(b, NULL, 0, 1, j[0].hidden, 1, 0, 0,
	    &cause) == -1);
	free(cause);
	batch_free(b);
	for (i = 0; i < 4; i++) {
		free(j[i].hidden);
		free(j[i].logits);
	}
	free(want);
	model_free(m);
	pool_free(pool);
	gguf_close(gf);
}

int
main(void)
{
	TEST_RUN(test_batch_threads_identical);
	TEST_RUN(test_batch_heads);
	TEST_EXIT();
}
