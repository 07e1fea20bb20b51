/*
 * Tests for the swarm client against nodes in this process, on loopback
 * ports chosen by the system: hidden states through a chain are bit-
 * identical to running every block here, and stay so when the node in use
 * goes away mid-run (a replica takes over after a replay).
 */
#include <stdio.h>

#include "test.h"
#include "core/gguf.h"
#include "core/model.h"
#include "core/pool.h"
#include "swarm/client.h"
#include "swarm/directory-static.h"
#include "swarm/model-id.h"
#include "swarm/node.h"
#include "swarm/record.h"
#include "util/xmalloc.h"

static struct node *
test_node(const char *path, uint32_t a, uint32_t b, char *addr, size_t size)
{
	struct node_config cfg;
	struct node *n;
	char *cause = NULL;

	node_config_init(&cfg);
	cfg.model_path = path;
	cfg.block_begin = a;
	cfg.block_end = b;
	cfg.listen = "127.0.0.1:0";
	cfg.threads = 1;
	cfg.drain_timeout = 0;
	if ((n = node_new(&cfg, &cause)) == NULL) {
		fprintf(stderr, "  node: %s\n", cause);
		free(cause);
		return NULL;
	}
	snprintf(addr, size, "127.0.0.1:%u", node_port(n));
	return n;
}

static void
test_client_failover(void)
{
	char path[512], addrs[3][64], model_id[MODEL_ID_MAX], *cause = NULL;
	const char *list[3];
	struct node *nodes[3] = { NULL, NULL, NULL };
	struct client_config cc;
	struct client_hop_stats *hs = NULL;
	struct directory *dir = NULL;
	struct client *c = NULL;
	struct gguf_file *gf;
	struct model *m = NULL;
	struct kv_cache *kv = NULL;
	struct pool *pool = pool_new(1);
	int32_t toks[8] = { 1, 403, 407, 500, 12, 99, 7, 300 }, pos[8];
	float *want = NULL, *got = NULL;
	size_t e, i, nh;
	int step, victim = -1, ok = 1;

	snprintf(path, sizeof(path), "%s/stories260K.gguf", test_models_dir());
	gf = gguf_open(path, &cause);
	CHECKF(gf != NULL, "%s", cause);
	m = model_load(gf, 0, 5, MODEL_LOAD_EMBED, pool, &cause);
	CHECKF(m != NULL, "%s", cause);
	CHECK(model_id_compute(gf, NULL, model_id, sizeof(model_id)) == 0);
	e = m->hp.n_embd;
	kv = kv_cache_new(m, 0, 5, 16, NULL);
	want = xmalloc(8 * e * sizeof(float));
	got = xmalloc(8 * e * sizeof(float));

	nodes[0] = test_node(path, 0, 2, addrs[0], sizeof(addrs[0]));
	nodes[1] = test_node(path, 2, 5, addrs[1], sizeof(addrs[1]));
	nodes[2] = test_node(path, 2, 5, addrs[2], sizeof(addrs[2]));
	for (i = 0; i < 3; i++) {
		if (nodes[i] == NULL)
			ok = 0;
		list[i] = addrs[i];
	}
	if (!ok)
		goto out;
	dir = directory_static_new(list, 3);
	client_config_init(&cc);
	cc.dir = dir;
	cc.model_id = model_id;
	cc.n_layer = 5;
	cc.n_embd = (uint32_t)e;
	c = client_new(&cc);
	if (client_open(c, 16, &cause) != 0) {
		fprintf(stderr, "  open: %s\n", cause);
		ok = 0;
		goto out;
	}
	/* A prompt of three tokens, then one token a step. */
	for (step = 0; step < 6 && ok; step++) {
		int p0 = step == 0 ? 0 : step + 2, n = step == 0 ? 3 : 1;

		for (i = 0; i < (size_t)n; i++)
			pos[i] = p0 + (int32_t)i;
		model_embed(m, toks + p0, n, want, NULL);
		memcpy(got, want, n * e * sizeof(float));
		model_forward_blocks(m, pool, 0, 5, want, pos, n, kv, NULL);
		if (client_forward(c, got, n, p0, &cause) != 0) {
			fprintf(stderr, "  step %d: %s\n", step, cause);
			ok = 0;
			break;
		}
		if (memcmp(want, got, n * e * sizeof(float)) != 0) {
			fprintf(stderr, "  step %d: hidden states differ\n", step);
			ok = 0;
		}
		if (step == 2) {
			/* The replica in use goes away. */
			nh = client_stats(c, &hs);
			victim = nh == 2 && strcmp(hs[1].addr, addrs[1]) == 0 ?
			    1 : 2;
			free(hs);
			hs = NULL;
			node_free(nodes[victim]);
			nodes[victim] = NULL;
		}
	}
	if (ok && client_failovers(c) != 1) {
		fprintf(stderr, "  %u failovers\n", client_failovers(c));
		ok = 0;
	}
	if (ok) {
		nh = client_stats(c, &hs);
		if (nh != 2 || strcmp(hs[1].addr, addrs[3 - victim]) != 0)
			ok = 0;
		free(hs);
	}
out:
	free(cause);
	client_free(c);
	if (dir != NULL)
		dir->ops->free(dir);
	for (i = 0; i < 3; i++)
		node_free(nodes[i]);
	kv_cache_free(kv);
	model_free(m);
	gguf_close(gf);
	pool_free(pool);
	free(want);
	free(got);
	CHECK(ok);
}

/*
 * An evaluation whose frame would pass client_config.max_frame goes in
 * several steps of fewer rows, each one what the node computes for those
 * rows on top of the ones before.
 */
static void
test_client_chunks(void)
{
	char path[512], addr[64], model_id[MODEL_ID_MAX], *cause = NULL;
	const char *list[1];
	struct node *node = NULL;
	struct client_config cc;
	struct client_hop_stats *hs = NULL;
	struct directory *dir = NULL;
	struct client *c = NULL;
	struct gguf_file *gf;
	struct model *m = NULL;
	struct kv_cache *kv = NULL;
	struct pool *pool = pool_new(1);
	int32_t toks[8] = { 1, 403, 407, 500, 12, 99, 7, 300 }, pos[8];
	float *want = NULL, *got = NULL;
	size_t e, nh = 0;
	int i, off, k, ok = 0;

	snprintf(path, sizeof(path), "%s/stories260K.gguf", test_models_dir());
	gf = gguf_open(path, &cause);
	CHECKF(gf != NULL, "%s", cause);
	m = model_load(gf, 0, 5, MODEL_LOAD_EMBED, pool, &cause);
	CHECKF(m != NULL, "%s", cause);
	CHECK(model_id_compute(gf, model_id, sizeof(model_id)) == 0);
	e = m->hp.n_embd;
	kv = kv_cache_new(m, 0, 5, 16, NULL);
	want = xmalloc(8 * e * sizeof(float));
	got = xmalloc(8 * e * sizeof(float));
	/* Here, as the node should: 3, 3, then 2 rows. */
	model_embed(m, toks, 8, want, NULL);
	memcpy(got, want, 8 * e * sizeof(float));
	for (off = 0; off < 8; off += k) {
		k = 8 - off < 3 ? 8 - off : 3;
		for (i = 0; i < k; i++)
			pos[i] = off + i;
		model_forward_blocks(m, pool, 0, 5, want + off * e, pos, k, kv,
		    NULL);
	}
	if ((node = test_node(path, 0, 5, addr, sizeof(addr))) == NULL)
		goto out;
	list[0] = addr;
	dir = directory_static_new(list, 1);
	client_config_init(&cc);
	cc.dir = dir;
	cc.model_id = model_id;
	cc.n_layer = 5;
	cc.n_embd = (uint32_t)e;
	cc.max_frame = 48 + 3 * e * sizeof(float) + 5;	/* 3 rows a frame */
	c = client_new(&cc);
	if (client_open(c, 16, &cause) != 0 ||
	    client_forward(c, got, 8, 0, &cause) != 0) {
		fprintf(stderr, "  %s\n", cause);
		goto out;
	}
	nh = client_stats(c, &hs);
	ok = nh == 1 && hs[0].steps == 3 &&
	    memcmp(want, got, 8 * e * sizeof(float)) == 0;
	if (!ok)
		fprintf(stderr, "  %zu hops, %llu steps, rows %s\n", nh,
		    nh ? (unsigned long long)hs[0].steps : 0ULL,
		    memcmp(want, got, 8 * e * sizeof(float)) ? "differ" :
		    "agree");
out:
	free(hs);
	free(cause);
	client_free(c);
	if (dir != NULL)
		dir->ops->free(dir);
	node_free(node);
	kv_cache_free(kv);
	model_free(m);
	gguf_close(gf);
	pool_free(pool);
	free(want);
	free(got);
	CHECK(ok);
}

int
main(void)
{
	TEST_RUN(test_client_failover);
	TEST_RUN(test_client_chunks);
	TEST_EXIT();
}
