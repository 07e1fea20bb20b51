/*
 * Tests for the swarm client against nodes in this process, on loopback
 * ports chosen by the system: hidden states through a chain are bit-
 * identical to running every block here, and stay so when the node in use
 * goes away mid-run (a replica takes over after a replay).
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "core/gguf.h"
#include "core/model.h"
#include "core/pool.h"
#include "net/http-client.h"
#include "net/protocol.h"
#include "swarm/client.h"
#include "swarm/identity.h"
#include "swarm/directory-static.h"
#include "swarm/model-id.h"
#include "swarm/node.h"
#include "swarm/record.h"
#include "util/clock.h"
#include "util/hex.h"
#include "util/strbuf.h"
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
	CHECK(model_id_compute(gf, NULL, model_id, sizeof(model_id)) == 0);
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

/*
 * Push: three hops (a spare for the middle one), each step forwarded node
 * to node; the middle node goes away mid-run, the step stalls, is finished
 * hop by hop and the states stay bit-identical to one process.
 */
static void
test_client_push_failover(void)
{
	char path[512], addrs[4][64], model_id[MODEL_ID_MAX], *cause = NULL;
	const char *list[4];
	struct node *nodes[4] = { NULL, NULL, NULL, NULL };
	struct client_config cc;
	struct client_push_stats ps;
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
	int step, victim, ok = 1;

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
	nodes[1] = test_node(path, 2, 4, addrs[1], sizeof(addrs[1]));
	nodes[2] = test_node(path, 2, 4, addrs[2], sizeof(addrs[2]));
	nodes[3] = test_node(path, 4, 5, addrs[3], sizeof(addrs[3]));
	for (i = 0; i < 4; i++) {
		if (nodes[i] == NULL)
			ok = 0;
		list[i] = addrs[i];
	}
	if (!ok)
		goto out;
	dir = directory_static_new(list, 4);
	client_config_init(&cc);
	cc.dir = dir;
	cc.model_id = model_id;
	cc.n_layer = 5;
	cc.n_embd = (uint32_t)e;
	cc.push = 1;
	c = client_new(&cc);
	if (client_open(c, 16, &cause) != 0) {
		fprintf(stderr, "  open: %s\n", cause);
		ok = 0;
		goto out;
	}
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
			nh = client_stats(c, &hs);
			victim = nh == 3 && strcmp(hs[1].addr, addrs[1]) == 0 ?
			    1 : 2;
			free(hs);
			hs = NULL;
			node_free(nodes[victim]);
			nodes[victim] = NULL;
		}
	}
	client_push_stats(c, &ps);
	if (ok && (client_failovers(c) != 1 || ps.pushed != 6 ||
	    ps.stalls != 1)) {
		fprintf(stderr, "  %u failovers, %llu pushed, %llu stalls\n",
		    client_failovers(c), (unsigned long long)ps.pushed,
		    (unsigned long long)ps.stalls);
		ok = 0;
	}
out:
	free(cause);
	client_free(c);
	if (dir != NULL)
		dir->ops->free(dir);
	for (i = 0; i < 4; i++)
		node_free(nodes[i]);
	kv_cache_free(kv);
	model_free(m);
	gguf_close(gf);
	pool_free(pool);
	free(want);
	free(got);
	CHECK(ok);
}

/* POSTs body to path on hc; the status, and the error code in *code. */
static long
test_post(struct http_client *hc, const char *path, const char *body,
    char code[64])
{
	struct strbuf ans = STRBUF_INIT;
	char *c = NULL, *msg = NULL;
	long status = 0;

	*code = '\0';
	if (http_client_request(hc, "POST", path, NULL, body, strlen(body),
	    "application/json", 5, 1 << 16, &status, &ans, NULL) != 0)
		status = -1;
	if (proto_error_parse(ans.buf, ans.len, &c, &msg) == 0)
		snprintf(code, 64, "%s", c);
	free(c);
	free(msg);
	if (status == 200 && strstr(path, "/sessions") != NULL &&
	    strstr(path, "/route") == NULL) {
		json_t *o = json_loadb(ans.buf, ans.len, 0, NULL);

		snprintf(code, 64, "%s", json_string_value(json_object_get(o,
		    "session_id")));
		json_decref(o);
	}
	strbuf_release(&ans);
	return status;
}

/* A route signed by key for the session sid; allocated JSON. */
static char *
test_route(const struct identity *key, const char *model_id, const char *sid,
    const char *next, uint64_t seq)
{
	uint8_t sig[IDENTITY_SIG_LEN];
	char hex[2 * IDENTITY_SIG_LEN + 1], *t;

	t = proto_route_terms(model_id, sid, next, "00000000000000aa", 0, seq);
	identity_sign(key, t, strlen(t), sig);
	free(t);
	hex_encode(sig, sizeof(sig), hex);
	return xasprintf("{\"next\":\"%s\",\"next_session\":"
	    "\"00000000000000aa\",\"step_delta\":0,\"seq\":%llu,"
	    "\"signature\":\"%s\"}", next, (unsigned long long)seq, hex);
}

/*
 * No open relay: a signed session's node forwards only to a node of its
 * model serving the next block, on a route its client signed, with a
 * sequence number past the last; what it refuses it counts.
 */
static void
test_client_push_relay(void)
{
	char path[512], addrs[3][64], model_id[MODEL_ID_MAX], code[64];
	char sid[64], pk_hex[2 * IDENTITY_PK_LEN + 1];
	char sig_hex[2 * IDENTITY_SIG_LEN + 1], *t, *body, *rpath = NULL;
	uint8_t sig[IDENTITY_SIG_LEN];
	struct node *nodes[3] = { NULL, NULL, NULL };
	struct identity key, other;
	struct http_client *hc = NULL;
	struct strbuf ans = STRBUF_INIT;
	struct gguf_file *gf;
	json_t *o = NULL;
	int64_t ts = (int64_t)time(NULL);
	long status;
	size_t i;
	int ok = 1;

	snprintf(path, sizeof(path), "%s/stories260K.gguf", test_models_dir());
	CHECK((gf = gguf_open(path, NULL)) != NULL);
	CHECK(model_id_compute(gf, NULL, model_id, sizeof(model_id)) == 0);
	gguf_close(gf);
	nodes[0] = test_node(path, 0, 2, addrs[0], sizeof(addrs[0]));
	nodes[1] = test_node(path, 2, 5, addrs[1], sizeof(addrs[1]));
	nodes[2] = test_node(path, 3, 5, addrs[2], sizeof(addrs[2]));
	for (i = 0; i < 3; i++)
		ok &= nodes[i] != NULL;
	identity_generate(&key);
	identity_generate(&other);
	hc = http_client_new(addrs[0], 5);
	if (!ok || hc == NULL)
		goto out;
	/* A session signed by key. */
	t = proto_session_terms(model_id, 0, 2, 8, ts);
	identity_sign(&key, t, strlen(t), sig);
	free(t);
	hex_encode(key.pk, sizeof(key.pk), pk_hex);
	hex_encode(sig, sizeof(sig), sig_hex);
	body = xasprintf("{\"model_id\":\"%s\",\"block_begin\":0,"
	    "\"block_end\":2,\"max_length\":8,\"client_key\":\"%s\","
	    "\"timestamp\":%lld,\"signature\":\"%s\"}", model_id, pk_hex,
	    (long long)ts, sig_hex);
	status = test_post(hc, "/sessions", body, sid);
	free(body);
	if (status != 200) {
		fprintf(stderr, "  open: %ld\n", status);
		ok = 0;
		goto out;
	}
	rpath = xasprintf("/sessions/%s/route", sid);
	/* Anywhere: nobody there answers as a node. */
	body = test_route(&key, model_id, sid, "127.0.0.1:1", 1);
	status = test_post(hc, rpath, body, code);
	free(body);
	ok &= status == 403 && strcmp(code, "relay_refused") == 0;
	/* A node of the model, but not serving block 2. */
	body = test_route(&key, model_id, sid, addrs[2], 2);
	status = test_post(hc, rpath, body, code);
	free(body);
	ok &= status == 403 && strcmp(code, "relay_refused") == 0;
	/* The right node, signed by another key. */
	body = test_route(&other, model_id, sid, addrs[1], 3);
	status = test_post(hc, rpath, body, code);
	free(body);
	ok &= status == 403 && strcmp(code, "relay_refused") == 0;
	/* The right node, signed by the session's key: taken. */
	body = test_route(&key, model_id, sid, addrs[1], 4);
	status = test_post(hc, rpath, body, code);
	free(body);
	ok &= status == 200;
	/* The same route again: its sequence number is spent. */
	body = test_route(&key, model_id, sid, addrs[1], 4);
	status = test_post(hc, rpath, body, code);
	free(body);
	ok &= status == 409 && strcmp(code, "stale_route") == 0;
	if (!ok)
		fprintf(stderr, "  last answer %ld %s\n", status, code);
	if (http_client_request(hc, "GET", "/status", NULL, NULL, 0, NULL, 5,
	    1 << 20, &status, &ans, NULL) != 0 || (o = json_loadb(ans.buf,
	    ans.len, 0, NULL)) == NULL)
		ok = 0;
	else {
		json_t *p = json_object_get(json_object_get(o, "status"),
		    "push");

		ok &= json_integer_value(json_object_get(p,
		    "relay_refused")) == 3 && json_integer_value(
		    json_object_get(p, "routes")) == 1;
	}
out:
	json_decref(o);
	strbuf_release(&ans);
	free(rpath);
	http_client_free(hc);
	identity_release(&key);
	identity_release(&other);
	for (i = 0; i < 3; i++)
		node_free(nodes[i]);
	CHECK(ok);
}

/*
 * A socket that listens and never accepts: a hung node (connections wait
 * in the backlog, never answered). Its descriptor, or -1.
 */
static int
test_silent_listener(char *addr, size_t size)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 8) != 0 || getsockname(fd, (struct sockaddr *)&sa,
	    &len) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	snprintf(addr, size, "127.0.0.1:%u", ntohs(sa.sin_port));
	return fd;
}

/*
 * The static directory asks its nodes at once, and a node that did not
 * answer is given a short while the next time: two hung nodes beside a
 * live one cost one timeout (5 s), not two, then about a second.
 */
static void
test_directory_static_silent(void)
{
	char path[1024], addrs[3][64], model_id[MODEL_ID_MAX], *cause = NULL;
	const char *list[3];
	struct gguf_file *gf;
	struct node *node = NULL;
	struct directory *dir = NULL;
	struct peer_record *recs = NULL;
	size_t n = 0;
	double t0, first, second;
	int fd0, fd2, i;

	snprintf(path, sizeof(path), "%s/stories260K.gguf", test_models_dir());
	gf = gguf_open(path, &cause);
	CHECKF(gf != NULL, "%s", cause);
	if (gf == NULL)
		return;
	CHECK(model_id_compute(gf, NULL, model_id, sizeof(model_id)) == 0);
	fd0 = test_silent_listener(addrs[0], sizeof(addrs[0]));
	fd2 = test_silent_listener(addrs[2], sizeof(addrs[2]));
	node = test_node(path, 0, 5, addrs[1], sizeof(addrs[1]));
	CHECK(fd0 >= 0 && fd2 >= 0 && node != NULL);
	if (fd0 < 0 || fd2 < 0 || node == NULL)
		goto out;
	/* the live node first on its own, until it answers with its record */
	list[0] = addrs[1];
	dir = directory_static_new(list, 1);
	for (i = 0; i < 100 && n == 0; i++) {
		free(recs);
		recs = NULL;
		CHECK(dir->ops->lookup(dir, model_id, &recs, &n, &cause) == 0);
		if (n == 0)
			clock_sleep(0.05);
	}
	CHECK(n == 1);
	dir->ops->free(dir);
	free(recs);
	recs = NULL;
	for (i = 0; i < 3; i++)
		list[i] = addrs[i];
	dir = directory_static_new(list, 3);
	t0 = clock_now();
	CHECK(dir->ops->lookup(dir, model_id, &recs, &n, &cause) == 0);
	first = clock_now() - t0;
	CHECK(n == 1 && strcmp(recs[0].addr, addrs[1]) == 0);
	free(recs);
	recs = NULL;
	t0 = clock_now();
	CHECK(dir->ops->lookup(dir, model_id, &recs, &n, &cause) == 0);
	second = clock_now() - t0;
	CHECK(n == 1 && strcmp(recs[0].addr, addrs[1]) == 0);
	CHECKF(first > 4 && first < 8, "first lookup took %.2f s", first);
	CHECKF(second < 3, "second lookup took %.2f s", second);
	free(recs);
out:
	if (dir != NULL)
		dir->ops->free(dir);
	node_free(node);
	if (fd0 >= 0)
		close(fd0);
	if (fd2 >= 0)
		close(fd2);
	gguf_close(gf);
}

int
main(void)
{
	TEST_RUN(test_client_failover);
	TEST_RUN(test_client_chunks);
	TEST_RUN(test_client_push_failover);
	TEST_RUN(test_client_push_relay);
	TEST_RUN(test_directory_static_silent);
	TEST_EXIT();
}
