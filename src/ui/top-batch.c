/*
 * `swarm top -b` and `--json`: the board as plain text or one JSON
 * document per refresh, for scripts (top.h).
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ui/top-model.h"
#include "ui/top.h"
#include "util/clock.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#define TOP_SPARK_WIDTH	TOP_HISTORY

const char *
top_glyph_cover(unsigned n, int utf8)
{
	static const char *const u[] = { "\xc3\x97", "\xe2\x96\x92",
	    "\xe2\x96\x93", "\xe2\x96\x88" };	/* × ▒ ▓ █ */
	static const char *const a[] = { "x", "-", "=", "#" };

	if (n > 3)
		n = 3;
	return utf8 ? u[n] : a[n];
}

const char *
top_glyph_spark(int level, int utf8)
{
	static const char *const u[] = { "\xe2\x96\x81", "\xe2\x96\x82",
	    "\xe2\x96\x83", "\xe2\x96\x84", "\xe2\x96\x85", "\xe2\x96\x86",
	    "\xe2\x96\x87", "\xe2\x96\x88" };	/* ▁ .. █ */
	static const char *const a[] = { "_", "_", ".", "-", "-", "=", "=",
	    "#" };

	if (level < 0)
		return " ";
	if (level > 7)
		level = 7;
	return utf8 ? u[level] : a[level];
}

static void
top_text_line(struct strbuf *sb, const char *s, int width)
{
	strbuf_addf(sb, "%.*s\n", width, s);
}

void
top_text(const struct top *t, int width, int utf8, struct strbuf *sb)
{
	char line[1024];
	uint32_t *cells;
	int levels[TOP_HISTORY], i, n;
	double max;
	size_t k;

	top_summary(t, line, sizeof(line));
	top_text_line(sb, line, width);
	top_model_line(t, line, sizeof(line));
	top_text_line(sb, line, width);
	n = width > 2 ? width - 2 : 1;
	cells = xcalloc((size_t)n, sizeof(*cells));
	top_bar(top_model(t), n, cells);
	strbuf_addc(sb, '[');
	for (i = 0; i < n; i++)
		strbuf_adds(sb, top_model(t) == NULL || top_model(t)->n_block ==
		    0 ? " " : top_glyph_cover(cells[i], utf8));
	strbuf_adds(sb, "]\n");
	free(cells);
	top_gaps(top_model(t), line, sizeof(line));
	top_text_line(sb, line, width);
	n = width - 20 < TOP_SPARK_WIDTH ? width - 20 : TOP_SPARK_WIDTH;
	if (n > 0) {
		top_series_levels(&t->swarm_rate, t->now, n, levels, &max);
		strbuf_adds(sb, "tokens/s, 60 s ");
		for (i = 0; i < n; i++)
			strbuf_adds(sb, top_glyph_spark(levels[i], utf8));
		strbuf_addc(sb, '\n');
	}
	top_local_line(t, line, sizeof(line));
	if (line[0] != '\0')
		top_text_line(sb, line, width);
	top_gateway_line(t, line, sizeof(line));
	if (line[0] != '\0')
		top_text_line(sb, line, width);
	top_row(t, NULL, width, line, sizeof(line));
	top_text_line(sb, line, width);
	for (k = 0; k < t->n_view; k++) {
		top_row(t, &t->peers[t->view[k]], width, line, sizeof(line));
		top_text_line(sb, line, width);
	}
}

static json_t *
top_peer_json(const struct top_peer *p)
{
	json_t *o = json_object();

	json_object_set_new(o, "peer_id", json_string(p->peer_id));
	json_object_set_new(o, "addr", json_string(p->addr));
	json_object_set_new(o, "model_id", json_string(p->model_id));
	json_object_set_new(o, "block_begin", p->has_span ?
	    json_integer(p->block_begin) : json_null());
	json_object_set_new(o, "block_end", p->has_span ?
	    json_integer(p->block_end) : json_null());
	json_object_set_new(o, "state", json_string(top_state_name(p->state)));
	json_object_set_new(o, "sessions", json_integer(p->sessions));
	json_object_set_new(o, "queue", json_integer(p->queue));
	json_object_set_new(o, "tokens_per_second_10s", json_real(p->tps_10s));
	json_object_set_new(o, "tokens_per_second_60s", json_real(p->tps_60s));
	json_object_set_new(o, "throughput", json_real(p->throughput));
	json_object_set_new(o, "rtt_ms", p->reachable ? json_real(p->rtt_ms) :
	    json_null());
	json_object_set_new(o, "uptime_seconds", json_real(p->uptime));
	json_object_set_new(o, "version", json_string(p->version));
	json_object_set_new(o, "errors", json_integer(p->errors));
	if (p->poll_error[0] != '\0')
		json_object_set_new(o, "error", json_string(p->poll_error));
	return o;
}

static json_t *
top_cover_json(const struct top_cover *c)
{
	json_t *o = json_object(), *reps = json_array(), *gaps = json_array();
	uint32_t a, b;

	for (b = 0; b < c->n_block; b++)
		json_array_append_new(reps, json_integer(c->replicas[b]));
	for (a = 0; a < c->n_block; a = b) {
		for (b = a + 1; b < c->n_block && (c->replicas[b] == 0) ==
		    (c->replicas[a] == 0); b++)
			;
		if (c->replicas[a] == 0)
			json_array_append_new(gaps, json_pack("{s:I,s:I}",
			    "begin", (json_int_t)a, "end", (json_int_t)b));
	}
	json_object_set_new(o, "model_id", json_string(c->model_id));
	json_object_set_new(o, "n_block", json_integer(c->n_block));
	json_object_set_new(o, "complete", json_boolean(c->complete));
	json_object_set_new(o, "peers", json_integer((json_int_t)c->n_peers));
	json_object_set_new(o, "replicas", reps);
	json_object_set_new(o, "gaps", gaps);
	return o;
}

/* This machine's node and gateway, when they answer. */
static void
top_json_local(const struct top *t, json_t *o)
{
	const struct top_gateway *g = &t->gateway;
	size_t i;

	for (i = 0; i < t->n_peers; i++)
		if (t->peers[i].local && t->peers[i].reachable)
			json_object_set_new(o, "local_node",
			    top_peer_json(&t->peers[i]));
	if (!g->up)
		return;
	json_object_set_new(o, "gateway", json_pack("{s:s,s:I,s:f,s:I,s:I,"
	    "s:I}", "addr", g->addr, "active", (json_int_t)g->active,
	    "tokens_per_second", g->tps, "requests", (json_int_t)g->requests,
	    "rejected", (json_int_t)g->rejected, "errors",
	    (json_int_t)g->errors));
}

json_t *
top_json(const struct top *t)
{
	json_t *o = json_object(), *models = json_array(), *peers = json_array();
	size_t i;

	json_object_set_new(o, "time", json_integer((json_int_t)t->now));
	json_object_set_new(o, "network", json_string(t->network));
	json_object_set_new(o, "peers_online", json_integer((json_int_t)
	    t->online));
	json_object_set_new(o, "peers_listed", json_integer((json_int_t)
	    t->listed));
	json_object_set_new(o, "tokens_per_second", json_real(t->tps));
	json_object_set_new(o, "sessions", json_integer(t->sessions));
	for (i = 0; i < t->n_models; i++)
		json_array_append_new(models, top_cover_json(&t->models[i]));
	json_object_set_new(o, "models", models);
	top_json_local(t, o);
	/* Every model's peers, each once. */
	for (i = 0; i < t->n_peers; i++)
		if (t->peers[i].listed)
			json_array_append_new(peers, top_peer_json(
			    &t->peers[i]));
	json_object_set_new(o, "peers", peers);
	return o;
}

static size_t
top_listed(const struct watch_answer *a, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		k += a[i].listed != 0;
	return k;
}

int
top_batch(const struct top_options *o, char **cause)
{
	const struct watch_answer *a;
	struct strbuf sb = STRBUF_INIT;
	struct watch *w;
	struct top t;
	const char *err;
	json_t *j;
	size_t n;
	long done = 0;
	char *s;
	int rc = 0;

	if ((w = watch_new(&o->watch, cause)) == NULL)
		return -1;
	top_init(&t, o->network);
	if (o->sort != NULL)
		top_sort_by(&t, o->sort);
	if (o->filter != NULL)
		top_set_filter(&t, o->filter);
	while (o->count == 0 || done < o->count) {
		if ((rc = watch_run(w, -1, 3600, cause)) < 0)
			break;
		if (rc == 0)
			continue;
		a = watch_answers(w, &n);
		if (top_listed(a, n) == 0 &&
		    (err = watch_discovery_error(w)) != NULL) {
			rc = set_cause(cause, "%s", err);
			break;
		}
		top_update(&t, a, n, (double)time(NULL));
		if (o->json) {
			j = top_json(&t);
			s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
			json_decref(j);
			fprintf(o->out, "%s\n", s != NULL ? s : "{}");
			free(s);
		} else {
			strbuf_reset(&sb);
			top_text(&t, o->width, 0, &sb);
			fprintf(o->out, "%s%s", done > 0 ? "\n" : "", sb.buf);
		}
		fflush(o->out);
		done++;
		rc = 0;
	}
	strbuf_release(&sb);
	top_release(&t);
	watch_free(w);
	return rc < 0 ? -1 : 0;
}
