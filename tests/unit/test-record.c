/*
 * Tests for the peer record's JSON form: a round trip keeps every field, and
 * hostile input (wrong types, long strings, bad spans, unknown states) is
 * refused with the field named.
 */
#include <jansson.h>

#include "test.h"
#include "swarm/record.h"
#include "util/xmalloc.h"

static void
test_record_fill(struct peer_record *r)
{
	memset(r, 0, sizeof(*r));
	memset(r->peer_id, 'a', PEER_ID_LEN);
	strcpy(r->addr, "127.0.0.1:7400");
	strcpy(r->model_id, "stories260K-F32-0123abcd");
	r->block_begin = 2;
	r->block_end = 4;
	r->throughput = 1234.5;
	r->load = 0.25;
	r->free_sessions = 7;
	r->free_cache_tokens = 1ULL << 40;
	r->state = PEER_STATE_DRAINING;
	strcpy(r->version, "0.1.0");
	r->timestamp = 1700000000;
}

static void
test_record_round_trip(void)
{
	struct peer_record r, back;
	char *s, *cause = NULL;

	test_record_fill(&r);
	s = record_encode(&r);
	CHECKF(record_decode(s, strlen(s), &back, &cause) == 0, "%s", cause);
	free(s);
	CHECK_STR(back.peer_id, r.peer_id);
	CHECK_STR(back.addr, r.addr);
	CHECK_STR(back.model_id, r.model_id);
	CHECK(back.block_begin == 2 && back.block_end == 4);
	CHECK(back.throughput == r.throughput && back.load == r.load);
	CHECK(back.free_sessions == 7 && back.free_cache_tokens == 1ULL << 40);
	CHECK(back.state == PEER_STATE_DRAINING);
	CHECK_STR(back.version, "0.1.0");
	CHECK(back.timestamp == 1700000000);
}

/* A price round-trips; a record from before prices reads as free; a bad
 * price is refused. */
static void
test_record_price(void)
{
	struct peer_record r, back;
	char *s, *cause = NULL;
	json_t *o;

	test_record_fill(&r);
	r.price = 0.875;
	s = record_encode(&r);
	CHECK(record_decode(s, strlen(s), &back, &cause) == 0);
	free(s);
	CHECK(back.price == 0.875);
	o = record_to_json(&r);
	json_object_del(o, "price");
	CHECK(record_from_json(o, &back, &cause) == 0 && back.price == 0);
	json_object_set_new(o, "price", json_real(-1));
	CHECK(record_from_json(o, &back, &cause) == -1);
	CHECK(strstr(cause, "price") != NULL);
	free(cause);
	json_decref(o);
}

static void
test_record_states(void)
{
	enum peer_state s;

	CHECK_STR(peer_state_name(PEER_STATE_ONLINE), "online");
	CHECK(peer_state_parse("joining", &s) == 0 && s == PEER_STATE_JOINING);
	CHECK(peer_state_parse("draining", &s) == 0 && s == PEER_STATE_DRAINING);
	CHECK(peer_state_parse("Online", &s) == -1);
	CHECK_STR(peer_state_name((enum peer_state)42), "unknown");
}

/* Replaces one field of a good record and expects a refusal naming it. */
static int
test_record_bad(const char *key, json_t *value, const char *want)
{
	struct peer_record r;
	json_t *o;
	char *s, *cause = NULL;
	int ok;

	test_record_fill(&r);
	o = record_to_json(&r);
	if (value != NULL)
		json_object_set_new(o, key, value);
	else
		json_object_del(o, key);
	s = json_dumps(o, 0);
	json_decref(o);
	ok = record_decode(s, strlen(s), &r, &cause) == -1 && cause != NULL &&
	    strstr(cause, want) != NULL;
	if (!ok)
		fprintf(stderr, "  %s: cause '%s'\n", key, cause ? cause : "");
	free(s);
	free(cause);
	return ok;
}

static void
test_record_hostile(void)
{
	char big[PEER_ADDR_MAX + 10];
	struct peer_record r;
	char *cause = NULL;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(test_record_bad("addr", json_string(big), "'addr' is too long"));
	CHECK(test_record_bad("addr", json_string(""), "'addr' is empty"));
	CHECK(test_record_bad("addr", json_string("a b"), "'addr' is malformed"));
	CHECK(test_record_bad("peer_id", json_string("XYZ"), "'peer_id'"));
	CHECK(test_record_bad("model_id", json_integer(3), "'model_id'"));
	CHECK(test_record_bad("block_end", json_integer(2), "empty span"));
	CHECK(test_record_bad("block_begin", json_integer(-1), "'block_begin'"));
	CHECK(test_record_bad("block_end", json_integer(1LL << 40),
	    "'block_end' is out of range"));
	CHECK(test_record_bad("throughput", json_real(-1), "'throughput'"));
	CHECK(test_record_bad("load", json_real(2), "'load'"));
	CHECK(test_record_bad("state", json_string("vanished"), "'state'"));
	/* an observer's word, never a node's */
	CHECK(test_record_bad("state", json_string("unreachable"), "'state'"));
	CHECK(test_record_bad("timestamp", NULL, "'timestamp'"));
	CHECK(test_record_bad("version", json_null(), "'version'"));
	CHECK(record_decode("[1,2]", 5, &r, &cause) == -1);
	free(cause);
	cause = NULL;
	CHECK(record_decode("{\"addr\":", 8, &r, &cause) == -1);
	free(cause);
}

int
main(void)
{
	TEST_RUN(test_record_round_trip);
	TEST_RUN(test_record_states);
	TEST_RUN(test_record_price);
	TEST_RUN(test_record_hostile);
	TEST_EXIT();
}
