/*
 * Tests for src/engine/engine.c: one default context rule; backends handed
 * to several threads at once give the text one backend alone gives, run
 * here and through a node of this process (a Q8_0 model, so the pool
 * does the work and a backend that forgot the pool lock is caught); the
 * stats count them; an engine with nowhere to run refuses to open. The
 * node serves the id the engine asks for: the one that commits to the
 * file's bytes (hashed into a shard store of the test's own).
 */
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "core/generate.h"
#include "engine/engine.h"
#include "shard/store.h"
#include "swarm/node.h"
#include "swarm/record.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#define TEST_THREADS	4
#define TEST_TOKENS	12

static char *
test_model(void)
{
	return xasprintf("%s/synth/synth-llama-Q8_0.gguf", test_models_dir());
}

static void
test_default_ctx(void)
{
	CHECK(engine_default_ctx(0) == 2048);
	CHECK(engine_default_ctx(512) == 512);
	CHECK(engine_default_ctx(ENGINE_CTX_DEFAULT_MAX) ==
	    ENGINE_CTX_DEFAULT_MAX);
	CHECK(engine_default_ctx(8192) == ENGINE_CTX_DEFAULT_MAX);
}

/* Greedy text from BOS through one backend of e; NULL on error. */
static char *
test_generate(struct engine *e)
{
	struct generate_backend be;
	struct engine_backend *b;
	struct generate_params gp;
	struct generate_result res;
	int32_t bos = 1;
	char *cause = NULL, *text = NULL;

	generate_params_init(&gp);
	gp.sampling.temperature = 0;
	gp.max_tokens = TEST_TOKENS;
	gp.ignore_eog = 1;
	memset(&res, 0, sizeof(res));
	if (engine_backend_open(e, 64, &be, &b, &cause) != 0) {
		fprintf(stderr, "  open: %s\n", cause);
		free(cause);
		return NULL;
	}
	if (generate_run(&be, engine_tokenizer(e), &bos, 1, &gp, &res,
	    &cause) == 0)
		text = xstrndup(res.text ? res.text : "", res.text_len);
	else {
		fprintf(stderr, "  generate: %s\n", cause);
		free(cause);
	}
	generate_result_release(&res);
	engine_backend_close(b);
	return text;
}

struct test_run {
	struct engine	*e;
	char		*text;
};

static void *
test_thread(void *arg)
{
	struct test_run *r = arg;

	r->text = test_generate(r->e);
	return NULL;
}

/*
 * One backend alone, then TEST_THREADS at once: the same text each; the
 * engine counts every backend and token. *text: the text (allocated).
 */
static void
test_concurrent(struct engine *e, char **text)
{
	struct test_run runs[TEST_THREADS];
	pthread_t th[TEST_THREADS];
	struct engine_stats st;
	char *one;
	int i;

	*text = one = test_generate(e);
	CHECK(one != NULL && strlen(one) > 0);
	for (i = 0; i < TEST_THREADS; i++) {
		runs[i].e = e;
		runs[i].text = NULL;
		CHECK(pthread_create(&th[i], NULL, test_thread, &runs[i]) == 0);
	}
	for (i = 0; i < TEST_THREADS; i++) {
		pthread_join(th[i], NULL);
		CHECKF(one != NULL && runs[i].text != NULL &&
		    strcmp(runs[i].text, one) == 0, "thread %d: '%s', alone "
		    "'%s'", i, runs[i].text ? runs[i].text : "(null)",
		    one ? one : "(null)");
		free(runs[i].text);
	}
	engine_stats(e, &st);
	CHECK(st.backends == TEST_THREADS + 1);
	/* BOS, then every token but the last is evaluated. */
	CHECKF(st.tokens == (TEST_THREADS + 1) * TEST_TOKENS, "%llu tokens",
	    (unsigned long long)st.tokens);
	engine_stats_release(&st);
}

static void
test_local_and_swarm(void)
{
	struct engine_config ec;
	struct node_config nc;
	struct engine *e;
	struct engine_stats st;
	struct node *n;
	struct strbuf metrics = STRBUF_INIT;
	char *path = test_model(), *cause = NULL, *local, *swarm, *peer;
	char *peers[1], *detail = NULL, id[MODEL_ID_MAX];

	engine_config_init(&ec);
	ec.model_path = path;
	ec.threads = 2;
	ec.local = 1;
	if ((e = engine_open(&ec, &cause)) == NULL) {
		CHECKF(0, "%s", cause);
		free(cause);
		free(path);
		return;
	}
	CHECK(engine_n_ctx(e) == 2048);
	CHECK(engine_health(e, &detail) == 0);
	local = NULL;
	test_concurrent(e, &local);
	engine_free(e);

	/* The same through a node of this process serving every block. */
	node_config_init(&nc);
	nc.model_path = path;
	CHECK(store_model_id(path, 1, id, sizeof(id), NULL) == 0);
	nc.model_id = id;
	nc.block_begin = 0;
	nc.block_end = 4;
	nc.listen = "127.0.0.1:0";
	nc.threads = 1;
	if ((n = node_new(&nc, &cause)) == NULL) {
		CHECKF(0, "%s", cause);
		free(cause);
		free(local);
		free(path);
		return;
	}
	peer = xasprintf("127.0.0.1:%u", node_port(n));
	peers[0] = peer;
	ec.local = 0;
	ec.peers = peers;
	ec.n_peers = 1;
	e = engine_open(&ec, &cause);
	CHECKF(e != NULL, "%s", cause ? cause : "");
	if (e != NULL) {
		CHECK(engine_health(e, &detail) == 0);
		swarm = NULL;
		test_concurrent(e, &swarm);
		CHECKF(local != NULL && swarm != NULL && strcmp(local, swarm) ==
		    0, "swarm '%s', local '%s'", swarm, local);
		engine_stats(e, &st);
		CHECK(st.n_peers == 1 && st.peers[0].steps > 0 &&
		    st.peers[0].begin == 0 && st.peers[0].end == 4);
		engine_stats_release(&st);
		engine_metrics(e, &metrics);
		CHECK(metrics.buf != NULL && strstr(metrics.buf,
		    "swarm_serve_peer_steps_total{peer=\"127.0.0.1:") != NULL);
		free(swarm);
		engine_free(e);
	}
	free(cause);
	strbuf_release(&metrics);
	node_free(n);
	free(peer);
	free(local);
	free(path);
}

static void
test_nowhere_to_run(void)
{
	struct engine_config ec;
	char *path = test_model(), *cause = NULL;

	engine_config_init(&ec);
	ec.model_path = path;
	CHECK(engine_open(&ec, &cause) == NULL && cause != NULL);
	free(cause);
	cause = NULL;
	ec.local = 1;
	ec.model_path = "no-such-model.gguf";
	CHECK(engine_open(&ec, &cause) == NULL && cause != NULL &&
	    strstr(cause, "no-such-model.gguf") != NULL);
	free(cause);
	free(path);
}

static int
test_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int
main(void)
{
	char home[] = "/tmp/swarm-test-engine-XXXXXX";

	/* The id's hash is cached under the data directory: a private one. */
	if (mkdtemp(home) == NULL)
		return 1;
	setenv("SWARM_HOME", home, 1);
	TEST_RUN(test_default_ctx);
	TEST_RUN(test_local_and_swarm);
	TEST_RUN(test_nowhere_to_run);
	nftw(home, test_rm, 16, FTW_DEPTH | FTW_PHYS);
	TEST_EXIT();
}
