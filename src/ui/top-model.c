/*
 * The board's data (top-model.h): rows, coverage, rates, the view.
 */
#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/node-info.h"
#include "ui/top-model.h"
#include "util/xmalloc.h"

static const char *const top_state_names[] = {
	[TOP_STATE_ONLINE] = "online",
	[TOP_STATE_BUSY] = "busy",
	[TOP_STATE_JOINING] = "joining",
	[TOP_STATE_DRAINING] = "draining",
	[TOP_STATE_GONE] = "gone",
	[TOP_STATE_UNREACHABLE] = "unreachable",
};

const char *
top_state_name(enum top_state s)
{
	if ((unsigned)s >= sizeof(top_state_names) / sizeof(*top_state_names))
		return "unknown";
	return top_state_names[s];
}

/* --- series --------------------------------------------------------------- */

void
top_series_init(struct top_series *s)
{
	int i;

	for (i = 0; i < TOP_HISTORY; i++) {
		s->sec[i] = -1;
		s->v[i] = 0;
	}
}

void
top_series_add(struct top_series *s, double now, double v)
{
	int64_t sec = (int64_t)floor(now);
	int i = (int)(((sec % TOP_HISTORY) + TOP_HISTORY) % TOP_HISTORY);

	s->sec[i] = sec;
	s->v[i] = v;
}

/* The sample of second sec, or NAN. */
static double
top_series_at(const struct top_series *s, int64_t sec)
{
	int i = (int)(((sec % TOP_HISTORY) + TOP_HISTORY) % TOP_HISTORY);

	return s->sec[i] == sec ? s->v[i] : NAN;
}

void
top_series_levels(const struct top_series *s, double now, int width,
    int *levels, double *max)
{
	double vals[TOP_HISTORY], last = NAN, top = 0, v;
	int64_t end = (int64_t)floor(now), sec;
	int i;

	if (width > TOP_HISTORY)
		width = TOP_HISTORY;
	/* A sample from before the window carries into it. */
	for (sec = end - TOP_HISTORY + 1; sec <= end - width; sec++)
		if (!isnan(v = top_series_at(s, sec)))
			last = v;
	for (i = 0; i < width; i++) {
		if (!isnan(v = top_series_at(s, end - width + 1 + i)))
			last = v;
		vals[i] = last;
		if (!isnan(last) && last > top)
			top = last;
	}
	for (i = 0; i < width; i++)
		levels[i] = isnan(vals[i]) ? -1 : top > 0 ?
		    (int)lround(vals[i] / top * 7) : 0;
	*max = top;
}

/* --- folding a round in ---------------------------------------------------- */

static const char *
top_json_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

static int64_t
top_json_int(const json_t *o, const char *key)
{
	return (int64_t)json_integer_value(json_object_get(o, key));
}

static void
top_peer_sessions(struct top_peer *p, const json_t *list)
{
	const json_t *s;
	size_t i;

	p->n_sess = 0;
	json_array_foreach(list, i, s) {
		if (p->n_sess == TOP_SESSIONS)
			break;
		p->sess[p->n_sess].block_begin = (uint32_t)top_json_int(s,
		    "block_begin");
		p->sess[p->n_sess].block_end = (uint32_t)top_json_int(s,
		    "block_end");
		p->sess[p->n_sess].length = top_json_int(s, "length");
		p->n_sess++;
	}
}

/* The push and channels objects of a node's status: how steps came. */
static void
top_peer_steps(struct top_peer *p, const json_t *st)
{
	const json_t *push = json_object_get(st, "push");
	const json_t *ch = json_object_get(st, "channels");

	p->has_steps = json_is_integer(json_object_get(push,
	    "steps_from_client")) && json_is_integer(json_object_get(push,
	    "steps_from_peers"));
	p->steps_client = top_json_int(push, "steps_from_client");
	p->steps_peers = top_json_int(push, "steps_from_peers");
	p->forwarded = top_json_int(push, "forwarded");
	p->forward_failed = top_json_int(push, "forward_failed");
	p->has_channels = json_is_integer(json_object_get(ch, "open")) &&
	    json_is_integer(json_object_get(ch, "steps"));
	p->channels_open = top_json_int(ch, "open");
	p->channel_steps = top_json_int(ch, "steps");
}

/* Text from a peer is shown on a terminal: nothing but printable ASCII. */
static void
top_clean(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

/* A peer's status document; its record is checked as the DHT's would be. */
static int
top_peer_doc(struct top_peer *p, const json_t *doc)
{
	const json_t *st = json_object_get(doc, "status");
	struct node_info ni;
	struct peer_record r;

	memset(&ni, 0, sizeof(ni));
	if (node_info_parse(doc, &ni, NULL) != 0)
		return -1;
	r = ni.rec;
	snprintf(p->peer_id, sizeof(p->peer_id), "%s", r.peer_id);
	snprintf(p->model_id, sizeof(p->model_id), "%s", r.model_id);
	snprintf(p->version, sizeof(p->version), "%s", r.version);
	p->has_span = 1;
	p->block_begin = r.block_begin;
	p->block_end = r.block_end;
	p->throughput = r.throughput;
	if (ni.n_layer > 0 && ni.n_layer < (int64_t)UINT32_MAX)
		p->n_block = (uint32_t)ni.n_layer;
	p->sessions = ni.sessions;
	p->max_sessions = ni.max_sessions;
	p->queue = ni.queue;
	p->errors = ni.errors;
	p->tokens = ni.tokens_processed;
	p->tps_10s = ni.tokens_per_second_10s;
	p->tps_60s = ni.tokens_per_second_60s;
	p->uptime = ni.uptime_seconds;
	snprintf(p->last_error, sizeof(p->last_error), "%s",
	    top_json_str(st, "last_error"));
	top_clean(p->last_error);
	top_peer_sessions(p, json_object_get(st, "session_list"));
	top_peer_steps(p, st);
	switch (r.state) {
	case PEER_STATE_JOINING:
		p->state = TOP_STATE_JOINING;
		break;
	case PEER_STATE_DRAINING:
		p->state = TOP_STATE_DRAINING;
		break;
	case PEER_STATE_GONE:
		p->state = TOP_STATE_GONE;
		break;
	default:
		p->state = (p->max_sessions > 0 && p->sessions >=
		    p->max_sessions) || p->queue > 0 ? TOP_STATE_BUSY :
		    TOP_STATE_ONLINE;
	}
	return 0;
}

/* One answer into its row; what was known before stays when it fails. */
static void
top_peer_answer(struct top_peer *p, const struct watch_answer *a, double now)
{
	snprintf(p->addr, sizeof(p->addr), "%s", a->addr);
	p->listed = a->listed;
	p->local = a->local;
	p->rtt_ms = a->rtt_ms;
	if (a->announced && !p->has_span) {
		snprintf(p->peer_id, sizeof(p->peer_id), "%s", a->rec.peer_id);
		snprintf(p->model_id, sizeof(p->model_id), "%s",
		    a->rec.model_id);
		snprintf(p->version, sizeof(p->version), "%s", a->rec.version);
		p->has_span = 1;
		p->block_begin = a->rec.block_begin;
		p->block_end = a->rec.block_end;
		p->throughput = a->rec.throughput;
		p->n_block = a->n_block;
	}
	p->reachable = a->ok && a->doc != NULL &&
	    top_peer_doc(p, a->doc) == 0;
	if (p->reachable) {
		p->poll_error[0] = '\0';
		top_series_add(&p->rate, now, p->tps_10s);
		return;
	}
	snprintf(p->poll_error, sizeof(p->poll_error), "%s",
	    a->ok ? "not a status document" : a->error != NULL ? a->error :
	    "no answer");
	top_clean(p->poll_error);
	p->state = TOP_STATE_UNREACHABLE;
	p->sessions = p->queue = 0;
	p->tps_10s = p->tps_60s = 0;
	p->n_sess = 0;
	top_series_add(&p->rate, now, 0);
}

static struct top_peer *
top_find(struct top_peer *peers, size_t n, const char *addr)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(peers[i].addr, addr) == 0)
			return &peers[i];
	return NULL;
}

static struct top_cover *
top_cover_get(struct top *t, const char *model_id)
{
	struct top_cover *c;
	size_t i;

	for (i = 0; i < t->n_models; i++)
		if (strcmp(t->models[i].model_id, model_id) == 0)
			return &t->models[i];
	t->models = xreallocarray(t->models, t->n_models + 1,
	    sizeof(*t->models));
	c = &t->models[t->n_models++];
	memset(c, 0, sizeof(*c));
	snprintf(c->model_id, sizeof(c->model_id), "%s", model_id);
	return c;
}

/* Blocks are counted only for peers that answer and take sessions. */
static int
top_serves(const struct top_peer *p)
{
	return p->reachable && (p->state == TOP_STATE_ONLINE ||
	    p->state == TOP_STATE_BUSY || p->state == TOP_STATE_JOINING);
}

/* The models, in the order first seen, with their blocks and replicas. */
static void
top_cover(struct top *t)
{
	char sel[MODEL_ID_MAX] = "";
	struct top_cover *c;
	struct top_peer *p;
	uint32_t b;
	size_t i;

	if (t->model_sel < t->n_models)
		memcpy(sel, t->models[t->model_sel].model_id, sizeof(sel));
	for (i = 0; i < t->n_models; i++)
		free(t->models[i].replicas);
	t->n_models = 0;
	for (i = 0; i < t->n_peers; i++) {
		p = &t->peers[i];
		if (!p->listed || p->model_id[0] == '\0')
			continue;
		c = top_cover_get(t, p->model_id);
		c->n_peers++;
		if (p->n_block > c->n_block)
			c->n_block = p->n_block;
		if (p->has_span && p->block_end > c->n_block)
			c->n_block = p->block_end;
	}
	for (i = 0; i < t->n_models; i++)
		t->models[i].replicas = xcalloc(t->models[i].n_block + 1,
		    sizeof(uint32_t));
	for (i = 0; i < t->n_peers; i++) {
		p = &t->peers[i];
		if (!p->listed || p->model_id[0] == '\0' || !top_serves(p))
			continue;
		c = top_cover_get(t, p->model_id);
		for (b = p->block_begin; b < p->block_end && b < c->n_block;
		    b++)
			c->replicas[b]++;
	}
	t->model_sel = 0;
	for (i = 0; i < t->n_models; i++) {
		c = &t->models[i];
		c->complete = c->n_block > 0;
		for (b = 0; b < c->n_block; b++)
			if (c->replicas[b] == 0)
				c->complete = 0;
		if (strcmp(c->model_id, sel) == 0)
			t->model_sel = i;
	}
}

/* --- the columns ----------------------------------------------------------- */

static void
top_fmt_peer(const struct top_peer *p, char *buf, size_t size)
{
	snprintf(buf, size, "%.8s", p->peer_id[0] != '\0' ? p->peer_id : "?");
}

static void
top_fmt_addr(const struct top_peer *p, char *buf, size_t size)
{
	snprintf(buf, size, "%s", p->addr);
}

static void
top_fmt_span(const struct top_peer *p, char *buf, size_t size)
{
	if (p->has_span)
		snprintf(buf, size, "%" PRIu32 ":%" PRIu32, p->block_begin,
		    p->block_end);
	else
		snprintf(buf, size, "?");
}

static void
top_fmt_state(const struct top_peer *p, char *buf, size_t size)
{
	snprintf(buf, size, "%s", top_state_name(p->state));
}

static void
top_fmt_sessions(const struct top_peer *p, char *buf, size_t size)
{
	if (p->reachable)
		snprintf(buf, size, "%" PRId64, p->sessions);
	else
		snprintf(buf, size, "-");
}

/* 12.3, 1234, 12.3k: at most 6 characters. */
static void
top_fmt_num(double v, char *buf, size_t size)
{
	if (v < 100)
		snprintf(buf, size, "%.1f", v);
	else if (v < 100000)
		snprintf(buf, size, "%.0f", v);
	else
		snprintf(buf, size, "%.0fk", v / 1000);
}

static void
top_fmt_tps(const struct top_peer *p, char *buf, size_t size)
{
	if (p->reachable)
		top_fmt_num(p->tps_10s, buf, size);
	else
		snprintf(buf, size, "-");
}

static void
top_fmt_throughput(const struct top_peer *p, char *buf, size_t size)
{
	top_fmt_num(p->throughput, buf, size);
}

static void
top_fmt_rtt(const struct top_peer *p, char *buf, size_t size)
{
	if (p->reachable)
		snprintf(buf, size, "%.0fms", p->rtt_ms < 1 ? 1 : p->rtt_ms);
	else
		snprintf(buf, size, "-");
}

/* 42s, 13m, 5h, 3d. */
static void
top_fmt_uptime(const struct top_peer *p, char *buf, size_t size)
{
	double u = p->uptime;

	if (!p->reachable)
		snprintf(buf, size, "-");
	else if (u < 120)
		snprintf(buf, size, "%.0fs", u);
	else if (u < 7200)
		snprintf(buf, size, "%.0fm", u / 60);
	else if (u < 172800)
		snprintf(buf, size, "%.0fh", u / 3600);
	else
		snprintf(buf, size, "%.0fd", u / 86400);
}

static void
top_fmt_version(const struct top_peer *p, char *buf, size_t size)
{
	snprintf(buf, size, "%s", p->version[0] != '\0' ? p->version : "?");
}

static int
top_cmp_double(double a, double b)
{
	return a < b ? -1 : a > b;
}

static int
top_cmp_peer(const struct top_peer *a, const struct top_peer *b)
{
	return strcmp(a->peer_id, b->peer_id);
}

static int
top_cmp_addr(const struct top_peer *a, const struct top_peer *b)
{
	return strcmp(a->addr, b->addr);
}

static int
top_cmp_span(const struct top_peer *a, const struct top_peer *b)
{
	if (a->has_span != b->has_span)
		return b->has_span - a->has_span;
	if (a->block_begin != b->block_begin)
		return a->block_begin < b->block_begin ? -1 : 1;
	if (a->block_end != b->block_end)
		return a->block_end < b->block_end ? -1 : 1;
	return 0;
}

static int
top_cmp_state(const struct top_peer *a, const struct top_peer *b)
{
	return (int)a->state - (int)b->state;
}

static int
top_cmp_sessions(const struct top_peer *a, const struct top_peer *b)
{
	return top_cmp_double((double)a->sessions, (double)b->sessions);
}

static int
top_cmp_tps(const struct top_peer *a, const struct top_peer *b)
{
	return top_cmp_double(a->tps_10s, b->tps_10s);
}

static int
top_cmp_throughput(const struct top_peer *a, const struct top_peer *b)
{
	return top_cmp_double(a->throughput, b->throughput);
}

static int
top_cmp_rtt(const struct top_peer *a, const struct top_peer *b)
{
	/* Those that do not answer go last. */
	if (a->reachable != b->reachable)
		return b->reachable - a->reachable;
	return top_cmp_double(a->rtt_ms, b->rtt_ms);
}

static int
top_cmp_uptime(const struct top_peer *a, const struct top_peer *b)
{
	return top_cmp_double(a->uptime, b->uptime);
}

static int
top_cmp_version(const struct top_peer *a, const struct top_peer *b)
{
	return strcmp(a->version, b->version);
}

/* Dropped from the right when the screen is narrow. */
const struct top_column top_columns[] = {
	{ "PEER", 8, 0, 0, top_fmt_peer, top_cmp_peer },
	{ "ADDRESS", 21, 0, 0, top_fmt_addr, top_cmp_addr },
	{ "SPAN", 7, 0, 0, top_fmt_span, top_cmp_span },
	{ "STATE", 11, 0, 0, top_fmt_state, top_cmp_state },
	{ "SESS", 5, 1, 1, top_fmt_sessions, top_cmp_sessions },
	{ "TOK/S", 7, 1, 1, top_fmt_tps, top_cmp_tps },
	{ "THRPUT", 7, 1, 1, top_fmt_throughput, top_cmp_throughput },
	{ "RTT", 6, 1, 0, top_fmt_rtt, top_cmp_rtt },
	{ "UPTIME", 7, 1, 1, top_fmt_uptime, top_cmp_uptime },
	{ "VERSION", 8, 0, 0, top_fmt_version, top_cmp_version },
};
const size_t top_n_columns = sizeof(top_columns) / sizeof(*top_columns);

#define TOP_SORT_DEFAULT	2	/* SPAN */

/* --- the view -------------------------------------------------------------- */

/* Does the filter text appear (any case) in what the row shows? */
static int
top_match(const struct top *t, const struct top_peer *p)
{
	char buf[PEER_ADDR_MAX + PEER_ID_LEN + MODEL_ID_MAX + 96];

	if (t->filter[0] == '\0')
		return 1;
	snprintf(buf, sizeof(buf), "%s %s %s %s %s", p->peer_id, p->addr,
	    p->model_id, top_state_name(p->state), p->version);
	if (p->has_span)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
		    " %" PRIu32 ":%" PRIu32, p->block_begin, p->block_end);
	return strcasestr(buf, t->filter) != NULL;
}

static int
top_view_cmp(const void *va, const void *vb, void *arg)
{
	const struct top *t = arg;
	const struct top_column *c = &top_columns[t->sort];
	const struct top_peer *a = &t->peers[*(const size_t *)va];
	const struct top_peer *b = &t->peers[*(const size_t *)vb];
	int r = c->cmp(a, b);

	if (c->descending)
		r = -r;
	if (r == 0)
		r = top_cmp_span(a, b);
	return r != 0 ? r : strcmp(a->addr, b->addr);
}

/* The selected model's peers (and those of no known model), shown. */
static void
top_view(struct top *t)
{
	const struct top_cover *m = top_model(t);
	const struct top_peer *p;
	size_t i;

	free(t->view);
	t->view = xcalloc(t->n_peers ? t->n_peers : 1, sizeof(*t->view));
	t->n_view = 0;
	for (i = 0; i < t->n_peers; i++) {
		p = &t->peers[i];
		if (!p->listed || (m != NULL && p->model_id[0] != '\0' &&
		    strcmp(p->model_id, m->model_id) != 0) || !top_match(t, p))
			continue;
		t->view[t->n_view++] = i;
	}
	qsort_r(t->view, t->n_view, sizeof(*t->view), top_view_cmp, t);
}

void
top_init(struct top *t, const char *network)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->network, sizeof(t->network), "%s", network);
	t->sort = TOP_SORT_DEFAULT;
	top_series_init(&t->swarm_rate);
}

void
top_release(struct top *t)
{
	size_t i;

	for (i = 0; i < t->n_models; i++)
		free(t->models[i].replicas);
	free(t->models);
	free(t->peers);
	free(t->view);
	memset(t, 0, sizeof(*t));
}

/*
 * A peer the watch no longer asks (gone from the directory) is dropped;
 * one it still asks keeps its row, unreachable, with what was last known.
 */
void
top_update(struct top *t, const struct watch_answer *a, size_t n, double now)
{
	struct top_peer *old = t->peers, *p, *q;
	size_t n_old = t->n_peers, i;

	t->peers = xcalloc(n ? n : 1, sizeof(*t->peers));
	t->n_peers = 0;
	t->gateway.up = 0;
	for (i = 0; i < n; i++) {
		if (a[i].gateway) {
			snprintf(t->gateway.addr, sizeof(t->gateway.addr),
			    "%s", a[i].addr);
			if (a[i].ok && a[i].text != NULL)
				top_gateway_metrics(&t->gateway, a[i].text,
				    now);
			continue;
		}
		/* The watch keeps its order: look where the peer was first. */
		p = &t->peers[t->n_peers];
		q = t->n_peers < n_old && strcmp(old[t->n_peers].addr,
		    a[i].addr) == 0 ? &old[t->n_peers] : top_find(old, n_old,
		    a[i].addr);
		t->n_peers++;
		if (q != NULL)
			*p = *q;
		else
			top_series_init(&p->rate);
		top_peer_answer(p, &a[i], now);
	}
	free(old);
	t->tps = 0;
	t->sessions = 0;
	t->online = t->listed = 0;
	for (i = 0; i < t->n_peers; i++) {
		p = &t->peers[i];
		if (!p->listed)
			continue;
		t->listed++;
		if (!p->reachable)
			continue;
		t->online++;
		t->tps += p->tps_10s;
		t->sessions += p->sessions;
	}
	top_series_add(&t->swarm_rate, now, t->tps);
	t->now = now;
	t->rounds++;
	top_cover(t);
	top_view(t);
}

/* --- the controls ---------------------------------------------------------- */

void
top_sort_next(struct top *t)
{
	t->sort = (t->sort + 1) % top_n_columns;
	top_view(t);
}

int
top_sort_by(struct top *t, const char *name)
{
	size_t i;

	for (i = 0; i < top_n_columns; i++) {
		if (strcasecmp(top_columns[i].name, name) == 0) {
			t->sort = i;
			top_view(t);
			return 0;
		}
	}
	return -1;
}

void
top_set_filter(struct top *t, const char *text)
{
	snprintf(t->filter, sizeof(t->filter), "%s", text);
	top_view(t);
}

void
top_model_next(struct top *t)
{
	if (t->n_models > 0)
		t->model_sel = (t->model_sel + 1) % t->n_models;
	top_view(t);
}

const struct top_cover *
top_model(const struct top *t)
{
	return t->model_sel < t->n_models ? &t->models[t->model_sel] : NULL;
}

/* --- text ------------------------------------------------------------------ */

void
top_bar(const struct top_cover *c, int width, uint32_t *cells)
{
	uint64_t b0, b1, b;
	uint32_t least;
	int i;

	for (i = 0; i < width; i++) {
		if (c == NULL || c->n_block == 0) {
			cells[i] = 0;
			continue;
		}
		/* Cell i stands for blocks [b0, b1), at least one. */
		b0 = (uint64_t)i * c->n_block / (uint64_t)width;
		b1 = (uint64_t)(i + 1) * c->n_block / (uint64_t)width;
		if (b1 <= b0)
			b1 = b0 + 1;
		least = UINT32_MAX;
		for (b = b0; b < b1 && b < c->n_block; b++)
			if (c->replicas[b] < least)
				least = c->replicas[b];
		cells[i] = least == UINT32_MAX ? 0 : least;
	}
}

void
top_gaps(const struct top_cover *c, char *buf, size_t size)
{
	uint32_t a, b;
	size_t len;
	int n = 0;

	if (c == NULL || c->n_block == 0) {
		snprintf(buf, size, "blocks unknown");
		return;
	}
	snprintf(buf, size, "gaps: blocks");
	for (a = 0; a < c->n_block; a = b) {
		for (b = a + 1; b < c->n_block && (c->replicas[b] == 0) ==
		    (c->replicas[a] == 0); b++)
			;
		if (c->replicas[a] != 0)
			continue;
		len = strlen(buf);
		if (b - a == 1)
			snprintf(buf + len, size - len, "%s %" PRIu32,
			    n++ ? "," : "", a);
		else
			snprintf(buf + len, size - len, "%s %" PRIu32 ":%"
			    PRIu32, n++ ? "," : "", a, b);
	}
	if (n == 0)
		snprintf(buf, size, "all %" PRIu32 " blocks served",
		    c->n_block);
}

/* Appends s in a field of width (left or right aligned), cut to fit. */
static size_t
top_field(char *buf, size_t size, size_t len, const char *s, int width,
    int right)
{
	int n;

	if (len >= size)
		return len;
	n = snprintf(buf + len, size - len, right ? "%*.*s" : "%-*.*s",
	    width, width, s);
	return n < 0 ? len : len + (size_t)n >= size ? size - 1 : len +
	    (size_t)n;
}

void
top_row(const struct top *t, const struct top_peer *p, int width, char *buf,
    size_t size)
{
	char cell[PEER_ADDR_MAX + 2];
	size_t i, len = 0;
	int used = 0, w;

	buf[0] = '\0';
	for (i = 0; i < top_n_columns && used < width; i++) {
		w = top_columns[i].width;
		if (i > 0) {
			len = top_field(buf, size, len, " ", 1, 0);
			used++;
		}
		if (used + w > width)
			w = width - used;	/* the last, truncated */
		if (p == NULL)
			snprintf(cell, sizeof(cell), "%s%s",
			    top_columns[i].name, i == t->sort ? "*" : "");
		else
			top_columns[i].fmt(p, cell, sizeof(cell));
		len = top_field(buf, size, len, cell, w, top_columns[i].right);
		used += w;
	}
	while (len > 0 && buf[len - 1] == ' ')
		buf[--len] = '\0';
}

void
top_summary(const struct top *t, char *buf, size_t size)
{
	char tps[16];

	top_fmt_num(t->tps, tps, sizeof(tps));
	snprintf(buf, size, "swarm %s  peers %zu/%zu online  %s tokens/s  "
	    "%" PRId64 " sessions", t->network, t->online, t->listed, tps,
	    t->sessions);
}

void
top_model_line(const struct top *t, char *buf, size_t size)
{
	const struct top_cover *c = top_model(t);

	if (c == NULL) {
		snprintf(buf, size, "no model seen yet");
		return;
	}
	snprintf(buf, size, "model %zu/%zu %.16s  %" PRIu32 " blocks  %zu "
	    "peers  %s", t->model_sel + 1, t->n_models, c->model_id,
	    c->n_block, c->n_peers, c->complete ? "complete" : "incomplete");
}

void
top_local_line(const struct top *t, char *buf, size_t size)
{
	const struct top_peer *p;
	char tps[16];
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < t->n_peers; i++) {
		p = &t->peers[i];
		if (!p->local || !p->reachable)
			continue;
		top_fmt_num(p->tps_10s, tps, sizeof(tps));
		snprintf(buf, size, "this node %s  %" PRId64 " sessions  "
		    "queue %" PRId64 "  %s tokens/s  %" PRId64 " errors",
		    p->addr, p->sessions, p->queue, tps, p->errors);
		return;
	}
}

/* "name{labels} value" lines; the counters a gateway pane shows. */
void
top_gateway_metrics(struct top_gateway *g, const char *text, double now)
{
	uint64_t tokens = 0, requests = 0, errors = 0, rejected = 0, v;
	const char *p, *eol;
	unsigned status;
	int64_t active = 0;

	/* Something else on the port is no gateway. */
	if (strstr(text, "swarm_serve_") == NULL) {
		g->up = 0;
		return;
	}

	for (p = text; *p != '\0'; p = *eol != '\0' ? eol + 1 : eol) {
		eol = p + strcspn(p, "\n");
		if (sscanf(p, "swarm_serve_requests_total{status=\"%u\"} %"
		    SCNu64, &status, &v) == 2) {
			requests += v;
			errors += status >= 500 ? v : 0;
			rejected += status == 429 ? v : 0;
		} else if (sscanf(p, "swarm_serve_completion_tokens_total %"
		    SCNu64, &v) == 1)
			tokens = v;
		else
			(void)sscanf(p, "swarm_serve_active_requests %" SCNd64,
			    &active);
	}
	/* The rate between two readings; a restart starts it again. */
	g->tps = g->at > 0 && tokens >= g->tokens && now > g->at ?
	    (double)(tokens - g->tokens) / (now - g->at) : 0;
	g->up = 1;
	g->active = active;
	g->tokens = tokens;
	g->requests = requests;
	g->errors = errors;
	g->rejected = rejected;
	g->at = now;
}

void
top_gateway_line(const struct top *t, char *buf, size_t size)
{
	const struct top_gateway *g = &t->gateway;
	char tps[16];

	buf[0] = '\0';
	if (!g->up)
		return;
	top_fmt_num(g->tps, tps, sizeof(tps));
	snprintf(buf, size, "this gateway %s  %" PRId64 " generating  %s "
	    "tokens/s  %" PRIu64 " requests  %" PRIu64 " at the limit  %"
	    PRIu64 " errors", g->addr, g->active, tps, g->requests,
	    g->rejected, g->errors);
}
