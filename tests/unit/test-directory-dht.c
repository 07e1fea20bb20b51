/*
 * Tests for src/swarm/directory-dht: signed values round-trip; a flipped
 * byte, a foreign key or a wrong peer id is refused; over two loopback DHT
 * nodes a client finds the announced records, the newest per peer, and not
 * the stale ones.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "test.h"
#include "net/dht.h"
#include "swarm/directory-dht.h"
#include "swarm/identity.h"
#include "swarm/record.h"
#include "util/hex.h"
#include "util/xmalloc.h"

static void
fill(struct peer_record *r, const char *model, uint32_t a, uint32_t b)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->addr, sizeof(r->addr), "127.0.0.1:7400");
	snprintf(r->model_id, sizeof(r->model_id), "%s", model);
	r->block_begin = a;
	r->block_end = b;
	r->throughput = 1234.5678;
	r->load = 0.25;
	r->free_sessions = 16;
	r->free_cache_tokens = 4096;
	r->state = PEER_STATE_ONLINE;
	snprintf(r->version, sizeof(r->version), "0.1.0");
	r->timestamp = (int64_t)time(NULL);
}

static void
test_directory_dht_roundtrip(void)
{
	struct identity id;
	struct peer_record r;
	struct directory_dht_entry e;
	char *v, *cause = NULL;

	identity_generate(&id);
	fill(&r, "llama-f32-0123456789ab", 2, 5);
	v = directory_dht_encode(&r, 5, 7, &id);
	CHECKF(directory_dht_decode(v, strlen(v), &e, &cause) == 0, "%s",
	    cause);
	CHECK(strcmp(e.rec.peer_id, id.peer_id) == 0);
	CHECK(strcmp(e.rec.model_id, r.model_id) == 0);
	CHECK(e.rec.block_begin == 2 && e.rec.block_end == 5);
	CHECK(e.rec.throughput == r.throughput && e.rec.load == r.load);
	CHECK(e.n_block == 5 && e.refresh == 7);
	free(v);
}

/* Every single-byte change anywhere in the value is refused. */
static void
test_directory_dht_tamper(void)
{
	struct identity id;
	struct peer_record r;
	struct directory_dht_entry e;
	char *v, *p;
	size_t i, len;
	int accepted = 0;

	identity_generate(&id);
	fill(&r, "llama-f32-0123456789ab", 0, 2);
	v = directory_dht_encode(&r, 5, 30, &id);
	len = strlen(v);
	for (i = 0; i < len; i++) {
		v[i] ^= 0x01;
		if (directory_dht_decode(v, len, &e, NULL) == 0)
			accepted++;
		v[i] ^= 0x01;
	}
	CHECKF(accepted == 0, "%d tampered values accepted", accepted);
	/* Change a number and nothing else: the signature catches it. */
	p = strstr(v, "\"block_end\":2");
	CHECK(p != NULL);
	p[strlen("\"block_end\":")] = '3';
	CHECK(directory_dht_decode(v, len, &e, NULL) == -1);
	free(v);
}

/* A valid signature by a key that is not the peer id's. */
static void
test_directory_dht_foreign_key(void)
{
	struct identity a, b;
	struct peer_record r;
	struct directory_dht_entry e;
	char *v, *cause = NULL, pk_hex[2 * IDENTITY_PK_LEN + 1];
	json_t *o;

	identity_generate(&a);
	identity_generate(&b);
	fill(&r, "m", 0, 1);
	/* b signs a record claiming to be a. */
	v = directory_dht_encode(&r, 0, 30, &b);
	o = json_loads(v, 0, NULL);
	free(v);
	CHECK(o != NULL);
	json_object_set_new(o, "peer_id", json_string(a.peer_id));
	v = json_dumps(o, JSON_COMPACT);
	CHECK(directory_dht_decode(v, strlen(v), &e, &cause) == -1);
	CHECK(strstr(cause, "signature") != NULL);
	free(cause);
	cause = NULL;
	free(v);
	/* Swap in a's public key: the signature no longer matches. */
	hex_encode(a.pk, sizeof(a.pk), pk_hex);
	json_object_set_new(o, "public_key", json_string(pk_hex));
	v = json_dumps(o, JSON_COMPACT);
	CHECK(directory_dht_decode(v, strlen(v), &e, &cause) == -1);
	free(cause);
	free(v);
	json_decref(o);
	CHECK(directory_dht_decode("{}", 2, &e, NULL) == -1);
	CHECK(directory_dht_decode("nope", 4, &e, NULL) == -1);
}

static void
test_directory_dht_lookup(void)
{
	struct dht *a, *b;
	struct directory *node, *node2, *client;
	struct identity ida, idb;
	struct peer_record r, *recs = NULL;
	struct directory_dht_entry *ents = NULL;
	size_t n = 0, i;
	char addr[64], *cause = NULL;
	int tries;

	a = dht_new(NULL, 0, "test-dir", &cause);
	CHECKF(a != NULL, "%s", cause);
	b = dht_new(NULL, 0, "test-dir", &cause);
	CHECKF(b != NULL, "%s", cause);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)dht_port(a));
	CHECK(dht_bootstrap(b, addr, 2000, &cause) == 0);
	identity_generate(&ida);
	identity_generate(&idb);
	node = directory_dht_new(a, &ida);
	node2 = directory_dht_new(a, &idb);
	client = directory_dht_new(b, NULL);
	directory_dht_set_model(node, 5, 30);
	directory_dht_set_model(node2, 5, 1);

	fill(&r, "model-x", 0, 2);
	r.timestamp -= 10;
	CHECK(node->ops->announce(node, &r, &cause) == 0);
	fill(&r, "model-x", 0, 3);	/* newer: replaces the one above */
	CHECK(node->ops->announce(node, &r, &cause) == 0);
	fill(&r, "model-x", 3, 5);
	r.timestamp -= 10;		/* refresh 1 s: stale after 3 s */
	CHECK(node2->ops->announce(node2, &r, &cause) == 0);
	fill(&r, "model-y", 0, 1);
	CHECK(node2->ops->announce(node2, &r, &cause) == 0);
	/* A client cannot announce. */
	CHECK(client->ops->announce(client, &r, &cause) == -1);
	free(cause);
	cause = NULL;

	for (tries = 0; tries < 20; tries++) {
		CHECK(client->ops->lookup(client, "model-x", &recs, &n,
		    &cause) == 0);
		if (n >= 1)
			break;
		free(recs);
		nanosleep(&(struct timespec){ 0, 200000000L }, NULL);
	}
	CHECK(n == 1);
	CHECK(strcmp(recs[0].peer_id, ida.peer_id) == 0);
	CHECK(recs[0].block_begin == 0 && recs[0].block_end == 3);
	free(recs);

	/* All models: a's model-x record and b's model-y one. */
	for (tries = 0; tries < 20; tries++) {
		CHECK(directory_dht_entries(client, NULL, &ents, &n,
		    &cause) == 0);
		if (n >= 2)
			break;
		free(ents);
		nanosleep(&(struct timespec){ 0, 200000000L }, NULL);
	}
	CHECK(n == 2);
	CHECK(strcmp(ents[0].rec.model_id, "model-x") == 0);
	CHECK(strcmp(ents[1].rec.model_id, "model-y") == 0);
	CHECK(ents[0].n_block == 5);
	for (i = 0; i < n; i++)
		CHECK(ents[i].rec.block_end <= ents[i].n_block);
	free(ents);
	client->ops->free(client);
	node2->ops->free(node2);
	node->ops->free(node);
	dht_free(b);
	dht_free(a);
}

int
main(void)
{
	TEST_RUN(test_directory_dht_roundtrip);
	TEST_RUN(test_directory_dht_tamper);
	TEST_RUN(test_directory_dht_foreign_key);
	TEST_RUN(test_directory_dht_lookup);
	TEST_EXIT();
}
