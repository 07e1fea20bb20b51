/*
 * The data behind `swarm top` (src/ui/top-model.c) from hand-made status
 * documents: rows, coverage and gaps, a peer that stops answering, the
 * sort, the filter, the bar, the sparkline and the batch text; and the
 * node's rate window (src/util/rate.c).
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "test.h"
#include "ui/top-model.h"
#include "ui/top.h"
#include "util/rate.h"
#include "util/strbuf.h"

#define MODEL	"llama-f32-0123456789ab"

static json_t *
doc(const char *model, unsigned a, unsigned b, double tps, int sessions)
{
	return json_pack("{s:i,s:{s:s,s:s,s:s,s:i,s:i,s:f,s:f,s:i,s:i,s:s,"
	    "s:s,s:i},s:{s:f,s:i,s:i,s:i,s:i,s:f,s:f,s:i,s:i,s:[]}}",
	    "protocol", 1, "record", "peer_id",
	    "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
	    "addr", "127.0.0.1:1", "model_id", model, "block_begin", a,
	    "block_end", b, "throughput", 1000.0, "load", 0.0,
	    "free_sessions", 16 - sessions, "free_cache_tokens", 1000,
	    "state", "online", "version", "0.1.0", "timestamp", 1700000000,
	    "status", "uptime_seconds", 42.0, "n_layer", 5, "sessions",
	    sessions, "max_sessions", 4, "tokens_processed", 100,
	    "tokens_per_second_10s", tps, "tokens_per_second_60s", tps / 2,
	    "queue", 0, "errors", 0, "session_list");
}

/* Three peers over 5 blocks: 0:2, 2:4, 4:5 at addresses :1 :2 :3. */
static void
answers(struct watch_answer *a, json_t **docs, int second_up)
{
	static const char *const addrs[] = { "127.0.0.1:1", "127.0.0.1:2",
	    "127.0.0.1:3" };
	int i;

	docs[0] = doc(MODEL, 0, 2, 5.0, 1);
	docs[1] = doc(MODEL, 2, 4, 20.0, 4);
	docs[2] = doc(MODEL, 4, 5, 10.0, 0);
	memset(a, 0, 3 * sizeof(*a));
	for (i = 0; i < 3; i++) {
		a[i].addr = addrs[i];
		a[i].ok = i != 1 || second_up;
		a[i].doc = a[i].ok ? docs[i] : NULL;
		a[i].error = a[i].ok ? NULL : "Connection refused";
		a[i].listed = 1;
		a[i].rtt_ms = 1 + i;
	}
}

static void
release(json_t **docs)
{
	int i;

	for (i = 0; i < 3; i++)
		json_decref(docs[i]);
}

static void
test_rows_and_coverage(void)
{
	struct watch_answer a[3];
	json_t *docs[3];
	struct top t;
	const struct top_cover *c;
	char buf[256];

	top_init(&t, "public");
	answers(a, docs, 1);
	top_update(&t, a, 3, 1000);
	release(docs);
	CHECK(t.n_peers == 3 && t.n_view == 3 && t.online == 3);
	CHECK(fabs(t.tps - 35) < 1e-9 && t.sessions == 5);
	CHECK((c = top_model(&t)) != NULL && c->n_block == 5 && c->complete);
	CHECK(strcmp(t.peers[t.view[0]].addr, "127.0.0.1:1") == 0);
	CHECK(t.peers[1].state == TOP_STATE_BUSY);	/* 4 of 4 sessions */
	CHECK(t.peers[0].state == TOP_STATE_ONLINE);
	top_gaps(c, buf, sizeof(buf));
	CHECKF(strcmp(buf, "all 5 blocks served") == 0, "got \'%s\'", buf);
	top_release(&t);
}

static void
test_unreachable_is_a_gap(void)
{
	struct watch_answer a[3];
	json_t *docs[3];
	struct top t;
	const struct top_cover *c;
	uint32_t cells[3];
	char buf[256];

	top_init(&t, "public");
	answers(a, docs, 1);
	top_update(&t, a, 3, 1000);
	release(docs);
	answers(a, docs, 0);
	top_update(&t, a, 3, 1001);
	release(docs);
	c = top_model(&t);
	CHECK(t.online == 2 && !c->complete);
	CHECK(c->replicas[1] == 1 && c->replicas[2] == 0 && c->replicas[3] == 0);
	/* The row stays, with its span, unreachable. */
	CHECK(t.peers[1].state == TOP_STATE_UNREACHABLE);
	CHECK(t.peers[1].has_span && t.peers[1].block_begin == 2);
	CHECKF(strcmp(t.peers[1].poll_error, "Connection refused") == 0, "got \'%s\'", t.peers[1].poll_error);
	top_gaps(c, buf, sizeof(buf));
	CHECKF(strcmp(buf, "gaps: blocks 2:4") == 0, "got \'%s\'", buf);
	/* Three cells over five blocks: the middle one holds the gap. */
	top_bar(c, 3, cells);
	CHECK(cells[0] == 1 && cells[1] == 0);
	top_row(&t, &t.peers[1], 100, buf, sizeof(buf));
	CHECK(strstr(buf, "unreachable") != NULL && strstr(buf, "2:4") != NULL);
	top_release(&t);
}

static void
test_sort_filter_models(void)
{
	struct watch_answer a[3];
	json_t *docs[3];
	struct top t;

	top_init(&t, "public");
	answers(a, docs, 1);
	json_object_set_new(json_object_get(docs[2], "record"), "model_id",
	    json_string("other-model"));
	top_update(&t, a, 3, 1000);
	release(docs);
	CHECK(t.n_models == 2 && t.n_view == 2);
	CHECK(top_sort_by(&t, "tok/s") == 0);
	CHECK(strcmp(t.peers[t.view[0]].addr, "127.0.0.1:2") == 0);
	CHECK(top_sort_by(&t, "nosuch") == -1);
	top_sort_next(&t);	/* THRPUT: equal, then by span */
	CHECK(strcmp(t.peers[t.view[0]].addr, "127.0.0.1:1") == 0);
	top_set_filter(&t, "2:4");
	CHECK(t.n_view == 1 && strcmp(t.peers[t.view[0]].addr,
	    "127.0.0.1:2") == 0);
	top_set_filter(&t, "");
	top_model_next(&t);
	CHECK(t.n_view == 1 && strcmp(t.peers[t.view[0]].addr,
	    "127.0.0.1:3") == 0);
	top_release(&t);
}

static void
test_rows_truncate(void)
{
	struct watch_answer a[3];
	json_t *docs[3];
	struct top t;
	char buf[512];

	top_init(&t, "public");
	answers(a, docs, 1);
	top_update(&t, a, 3, 1000);
	release(docs);
	top_row(&t, NULL, 100, buf, sizeof(buf));
	CHECK(strstr(buf, "SPAN*") != NULL && strlen(buf) <= 100);
	/* SPAN cut to 6 of its 7, STATE left out, no trailing blank. */
	top_row(&t, &t.peers[0], 37, buf, sizeof(buf));
	CHECKF(strcmp(buf, "abcdef01 127.0.0.1:1           0:2") == 0, "'%s'",
	    buf);
	top_row(&t, &t.peers[0], 7, buf, sizeof(buf));
	CHECKF(strcmp(buf, "abcdef0") == 0, "got \'%s\'", buf);
	top_release(&t);
}

static void
test_sparkline(void)
{
	struct top_series s;
	int levels[10], i;
	double max;

	top_series_init(&s);
	top_series_levels(&s, 100, 10, levels, &max);
	for (i = 0; i < 10; i++)
		CHECK(levels[i] == -1);
	top_series_add(&s, 95.5, 7);
	top_series_add(&s, 98.2, 14);
	top_series_levels(&s, 100.9, 10, levels, &max);
	CHECK(max == 14);
	/* Seconds 91..100: empty until 95, 7 carried to 97, then 14. */
	CHECK(levels[0] == -1 && levels[3] == -1);
	CHECK(levels[4] == 4 && levels[6] == 4);	/* 7/14 of 7 */
	CHECK(levels[7] == 7 && levels[9] == 7);
	/* Older than the ring: forgotten. */
	top_series_levels(&s, 100 + TOP_HISTORY, 10, levels, &max);
	CHECK(levels[9] == -1);
}

static void
test_text_and_json(void)
{
	struct watch_answer a[3];
	json_t *docs[3], *j;
	struct strbuf sb = STRBUF_INIT;
	struct top t;

	top_init(&t, "public");
	answers(a, docs, 0);
	top_update(&t, a, 3, 1000);
	release(docs);
	top_text(&t, 80, 0, &sb);
	CHECK(strstr(sb.buf, "peers 2/3 online") != NULL);
	CHECK(strstr(sb.buf, "gaps: blocks 2:4") != NULL);
	CHECK(strstr(sb.buf, "[" "-------") != NULL && strchr(sb.buf, 'x'));
	j = top_json(&t);
	CHECK(json_integer_value(json_object_get(j, "peers_online")) == 2);
	CHECK(json_array_size(json_object_get(j, "peers")) == 3);
	CHECK(json_integer_value(json_object_get(json_array_get(
	    json_object_get(json_array_get(json_object_get(j, "models"), 0),
	    "gaps"), 0), "begin")) == 2);
	json_decref(j);
	strbuf_release(&sb);
	top_release(&t);
}

static void
test_gateway_pane(void)
{
	struct watch_answer a;
	struct top t;
	char line[256];
	static const char m1[] =
	    "# HELP swarm_serve_requests_total HTTP requests answered\n"
	    "swarm_serve_requests_total{status=\"200\"} 7\n"
	    "swarm_serve_requests_total{status=\"429\"} 2\n"
	    "swarm_serve_requests_total{status=\"502\"} 1\n"
	    "swarm_serve_completion_tokens_total 100\n"
	    "swarm_serve_active_requests 3\n";
	static const char m2[] =
	    "swarm_serve_requests_total{status=\"200\"} 8\n"
	    "swarm_serve_completion_tokens_total 160\n"
	    "swarm_serve_active_requests 1";

	top_init(&t, "public");
	memset(&a, 0, sizeof(a));
	a.addr = "127.0.0.1:8000";
	a.gateway = 1;
	a.ok = 1;
	a.text = m1;
	top_update(&t, &a, 1, 1000);
	CHECK(t.n_peers == 0 && t.gateway.up);
	CHECK(t.gateway.requests == 10 && t.gateway.errors == 1 &&
	    t.gateway.rejected == 2 && t.gateway.active == 3);
	CHECK(t.gateway.tps == 0);	/* one reading: no rate yet */
	a.text = m2;
	top_update(&t, &a, 1, 1004);
	CHECK(fabs(t.gateway.tps - 15) < 1e-9 && t.gateway.active == 1);
	top_gateway_line(&t, line, sizeof(line));
	CHECK(strstr(line, "this gateway 127.0.0.1:8000  1 generating  "
	    "15.0 tokens/s") != NULL);
	a.ok = 0;
	a.text = NULL;
	top_update(&t, &a, 1, 1005);
	top_gateway_line(&t, line, sizeof(line));
	CHECK(line[0] == '\0');
	top_release(&t);
}

static void
test_rate_window(void)
{
	struct rate r;

	rate_init(&r, 100);
	rate_add(&r, 100.5, 10);
	rate_add(&r, 105.5, 40);
	/* 50 tokens in the first 6 s: the age divides. */
	CHECK(fabs(rate_per_second(&r, 106, 10) - 50.0 / 6) < 1e-9);
	CHECK(fabs(rate_per_second(&r, 106, 60) - 50.0 / 6) < 1e-9);
	/* At 114.9 the window is seconds 105..114: second 100 is out. */
	CHECK(fabs(rate_per_second(&r, 114.9, 10) - 4.0) < 1e-9);
	CHECK(rate_per_second(&r, 115.9, 10) == 0);
	/* A bucket reused a minute later starts again. */
	rate_add(&r, 160.2, 1);
	CHECK(fabs(rate_per_second(&r, 160.5, 60) - 41.0 / 60) < 1e-9);
}

/* A node's push and channels objects give its detail's steps line; a node
 * without them (an older one) shows none, and lying types are no figure. */
static void
test_steps_and_channels(void)
{
	struct watch_answer a[3];
	json_t *docs[3], *st;
	struct top t;

	top_init(&t, "public");
	answers(a, docs, 1);
	st = json_object_get(docs[0], "status");
	json_object_set_new(st, "push", json_pack("{s:i,s:i,s:i,s:i}",
	    "steps_from_client", 120, "steps_from_peers", 40, "forwarded",
	    38, "forward_failed", 2));
	json_object_set_new(st, "channels", json_pack("{s:i,s:i}", "open", 3,
	    "steps", 150));
	st = json_object_get(docs[2], "status");
	json_object_set_new(st, "push", json_pack("{s:s,s:i}",
	    "steps_from_client", "many", "steps_from_peers", 1));
	json_object_set_new(st, "channels", json_pack("{s:i}", "open", 1));
	top_update(&t, a, 3, 1000);
	release(docs);
	CHECK(t.n_peers == 3);
	CHECK(t.peers[0].has_steps && t.peers[0].has_channels);
	CHECK(t.peers[0].steps_client == 120 && t.peers[0].steps_peers == 40 &&
	    t.peers[0].forwarded == 38 && t.peers[0].forward_failed == 2);
	CHECK(t.peers[0].channels_open == 3 && t.peers[0].channel_steps == 150);
	CHECK(!t.peers[1].has_steps && !t.peers[1].has_channels);
	CHECK(!t.peers[2].has_steps && !t.peers[2].has_channels);
	top_release(&t);
}

int
main(void)
{
	TEST_RUN(test_rows_and_coverage);
	TEST_RUN(test_unreachable_is_a_gap);
	TEST_RUN(test_steps_and_channels);
	TEST_RUN(test_sort_filter_models);
	TEST_RUN(test_rows_truncate);
	TEST_RUN(test_sparkline);
	TEST_RUN(test_text_and_json);
	TEST_RUN(test_gateway_pane);
	TEST_RUN(test_rate_window);
	TEST_EXIT();
}
