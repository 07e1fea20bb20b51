/*
 * The client pipeline: peers, the chain, steps, failover and replay.
 *
 * Every hop keeps the inputs it was sent (one entry per step: first
 * position, row count, rows). Since a span's output depends only on its
 * inputs, a replacement chain for a failed hop's blocks that is fed the same
 * inputs, step by step, ends with the same cache and the same outputs, so
 * the hops after it never notice.
 */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/generate.h"
#include "core/model.h"
#include "core/pool.h"
#include "net/http-client.h"
#include "net/protocol.h"
#include "swarm/client.h"
#include "swarm/record.h"
#include "swarm/route.h"
#include "util/strbuf.h"
#include "util/clock.h"
#include "util/logcb.h"
#include "util/xmalloc.h"

#define CLIENT_STALE_SECONDS	90	/* three refresh intervals */
#define CLIENT_BAN_FIRST	1.0	/* seconds, doubled on each failure */
#define CLIENT_BAN_MAX		300.0

struct client_peer {
	struct peer_record	 rec;
	struct http_client	*http;
	double			 rtt;		/* < 0: not measured */
	double			 ban;		/* last ban length */
	double			 banned_until;
};

struct client_input {
	int32_t		 pos0;
	int		 n;
	float		*rows;
};

struct client_hop {
	uint32_t		 begin;
	uint32_t		 end;
	struct client_peer	*peer;
	char			 session[32];
	uint64_t		 next_step;
	struct client_input	*inputs;
	size_t			 n_inputs;
	uint64_t		 steps;
	double			 seconds;
};

struct client {
	struct client_config	 cfg;
	char			*model_id;
	struct client_peer	**peers;
	size_t			 n_peers;
	struct client_hop	*hops;
	size_t			 n_hops;
	uint32_t		 max_length;
	double			 deadline;
	unsigned		 failovers;
	long			 last_status;	/* of the last failed request */
	char			*last_failure;	/* "addr: why", for messages */
	struct strbuf		 frame;
	struct strbuf		 answer;
};

static void
client_log(struct client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
client_log(struct client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	logcb_vprintf(c->cfg.log, c->cfg.log_arg, fmt, ap);
	va_end(ap);
}

void
client_config_init(struct client_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->wire = PROTO_DTYPE_F32;
	cfg->connect_timeout = 5;
	cfg->step_timeout = 60;
	cfg->run_timeout = 0;
	cfg->max_failovers = 32;
}

struct client *
client_new(const struct client_config *cfg)
{
	struct client *c;

	c = xcalloc(1, sizeof(*c));
	c->cfg = *cfg;
	c->model_id = xstrdup(cfg->model_id);
	c->cfg.model_id = c->model_id;
	strbuf_init(&c->frame);
	strbuf_init(&c->answer);
	return c;
}

static void
client_hop_release(struct client_hop *h)
{
	size_t i;

	for (i = 0; i < h->n_inputs; i++)
		free(h->inputs[i].rows);
	free(h->inputs);
	memset(h, 0, sizeof(*h));
}

/* Closes a hop's session, best effort and quickly. */
static void
client_hop_close(struct client *c, struct client_hop *h)
{
	struct strbuf body = STRBUF_INIT;
	long status;
	char *path;

	if (h->session[0] == '\0' || h->peer == NULL ||
	    h->peer->banned_until > clock_now())
		return;
	path = xasprintf("/sessions/%s", h->session);
	http_client_request(h->peer->http, "DELETE", path, NULL, NULL, 0,
	    NULL, 2, 1 << 16, &status, &body, NULL);
	free(path);
	strbuf_release(&body);
	h->session[0] = '\0';
}

void
client_close(struct client *c)
{
	size_t i;

	for (i = 0; i < c->n_hops; i++) {
		client_hop_close(c, &c->hops[i]);
		client_hop_release(&c->hops[i]);
	}
	free(c->hops);
	c->hops = NULL;
	c->n_hops = 0;
}

void
client_free(struct client *c)
{
	size_t i;

	if (c == NULL)
		return;
	client_close(c);
	for (i = 0; i < c->n_peers; i++) {
		http_client_free(c->peers[i]->http);
		free(c->peers[i]);
	}
	free(c->peers);
	strbuf_release(&c->frame);
	strbuf_release(&c->answer);
	free(c->last_failure);
	free(c->model_id);
	free(c);
}

static void
client_ban(struct client *c, struct client_peer *p, const char *why)
{
	p->ban = p->ban > 0 ? p->ban * 2 : CLIENT_BAN_FIRST;
	if (p->ban > CLIENT_BAN_MAX)
		p->ban = CLIENT_BAN_MAX;
	p->banned_until = clock_now() + p->ban;
	free(c->last_failure);
	c->last_failure = xasprintf("%s: %s", p->rec.addr, why);
	client_log(c, "peer %s refused for %.0f s: %s", p->rec.addr, p->ban,
	    why);
}

static struct client_peer *
client_peer_get(struct client *c, const struct peer_record *r)
{
	struct client_peer *p;
	size_t i;

	for (i = 0; i < c->n_peers; i++) {
		p = c->peers[i];
		if (strcmp(p->rec.addr, r->addr) == 0) {
			p->rec = *r;
			return p;
		}
	}
	p = xcalloc(1, sizeof(*p));
	p->rec = *r;
	p->rtt = -1;
	if ((p->http = http_client_new(r->addr, c->cfg.connect_timeout)) ==
	    NULL)
		abort();
	c->peers = xreallocarray(c->peers, c->n_peers + 1, sizeof(*c->peers));
	c->peers[c->n_peers++] = p;
	return p;
}

/*
 * Measures a new peer's round trip with GET /info; a peer whose answer is
 * not a record of this model is refused.
 */
static int
client_peer_probe(struct client *c, struct client_peer *p)
{
	struct strbuf body = STRBUF_INIT;
	struct peer_record r;
	char *cause = NULL;
	json_t *o = NULL;
	double t0;
	long status;
	int rc = -1;

	t0 = clock_now();
	if (http_client_request(p->http, "GET", "/info", NULL, NULL, 0, NULL,
	    c->cfg.step_timeout, 1 << 20, &status, &body, &cause) != 0) {
		client_ban(c, p, cause);
		goto out;
	}
	p->rtt = clock_now() - t0;
	if (status != 200 || (o = json_loadb(body.buf, body.len, 0, NULL)) ==
	    NULL || record_from_json(json_object_get(o, "record"), &r,
	    NULL) != 0 || strcmp(r.model_id, c->model_id) != 0) {
		client_ban(c, p, "its info is not a record of this model");
		goto out;
	}
	rc = 0;
out:
	free(cause);
	json_decref(o);
	strbuf_release(&body);
	return rc;
}

/* Asks the directory and builds the candidate list for routing. */
static int
client_candidates(struct client *c, struct route_peer **out, size_t *n_out,
    struct client_peer ***map, char **cause)
{
	struct peer_record *recs = NULL;
	struct client_peer *p;
	size_t n = 0, i;
	double now = clock_now();
	int64_t wall = (int64_t)time(NULL);

	*out = NULL;
	*n_out = 0;
	*map = NULL;
	if (c->cfg.dir->ops->lookup(c->cfg.dir, c->model_id, &recs, &n,
	    cause) != 0)
		return -1;
	*out = xcalloc(n ? n : 1, sizeof(**out));
	*map = xcalloc(n ? n : 1, sizeof(**map));
	for (i = 0; i < n; i++) {
		const struct peer_record *r = &recs[i];
		int usable;

		p = client_peer_get(c, r);
		usable = strcmp(r->model_id, c->model_id) == 0 &&
		    r->state == PEER_STATE_ONLINE &&
		    r->timestamp + CLIENT_STALE_SECONDS >= wall &&
		    r->block_end <= c->cfg.n_layer &&
		    p->banned_until <= now;
		if (usable && p->rtt < 0 && client_peer_probe(c, p) != 0)
			usable = 0;
		(*out)[*n_out].rec = &p->rec;
		(*out)[*n_out].rtt = p->rtt > 0 ? p->rtt : 0;
		(*out)[*n_out].usable = usable;
		(*map)[*n_out] = p;
		(*n_out)++;
	}
	free(recs);
	return 0;
}

static int
client_http_error(struct client *c, long status, char **cause)
{
	char *code = NULL, *msg = NULL;

	c->last_status = status;
	if (proto_error_parse(c->answer.buf, c->answer.len, &code, &msg) == 0)
		set_cause(cause, "HTTP %ld: %s", status, msg);
	else
		set_cause(cause, "HTTP status %ld", status);
	free(code);
	free(msg);
	return -1;
}

static int
client_hop_open(struct client *c, struct client_hop *h, char **cause)
{
	json_t *o, *v;
	char *body;
	long status;
	int rc = -1;

	body = xasprintf("{\"model_id\":\"%s\",\"block_begin\":%u,"
	    "\"block_end\":%u,\"max_length\":%u}", c->model_id, h->begin,
	    h->end, c->max_length);
	if (http_client_request(h->peer->http, "POST", "/sessions", NULL,
	    body, strlen(body), "application/json", c->cfg.step_timeout,
	    1 << 16, &status, &c->answer, cause) != 0)
		goto out;
	if (status != 200) {
		client_http_error(c, status, cause);
		goto out;
	}
	if ((o = json_loadb(c->answer.buf, c->answer.len, 0, NULL)) == NULL) {
		set_cause(cause, "malformed answer to open");
		goto out;
	}
	v = json_object_get(o, "session_id");
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) >= sizeof(h->session) ||
	    strspn(json_string_value(v), "0123456789abcdef") !=
	    json_string_length(v))
		set_cause(cause, "malformed session id");
	else if (json_integer_value(json_object_get(o, "width")) !=
	    (json_int_t)c->cfg.n_embd)
		set_cause(cause, "width %lld, want %u",
		    (long long)json_integer_value(json_object_get(o, "width")),
		    c->cfg.n_embd);
	else {
		snprintf(h->session, sizeof(h->session), "%s",
		    json_string_value(v));
		h->next_step = 0;
		rc = 0;
	}
	json_decref(o);
out:
	free(body);
	return rc;
}

/*
 * One step on one hop: rows in hidden are replaced by the answer. Retries
 * once on a transport failure (the node answers a repeated step number from
 * its memory, without running it twice).
 */
static int
client_hop_step(struct client *c, struct client_hop *h, float *hidden,
    int n, int32_t pos0, char **cause)
{
	struct proto_step st, got;
	struct proto_limits lim;
	float *rows = NULL;
	char *path, *err = NULL;
	double t0, timeout = c->cfg.step_timeout;
	long status;
	int attempt, rc = -1;

	memset(&st, 0, sizeof(st));
	st.dtype = c->cfg.wire;
	st.n_tokens = (uint32_t)n;
	st.width = c->cfg.n_embd;
	st.pos0 = (uint32_t)pos0;
	st.step = h->next_step;
	strbuf_reset(&c->frame);
	proto_step_encode(&st, hidden, &c->frame);
	path = xasprintf("/sessions/%s/step", h->session);
	if (c->deadline > 0 && c->deadline - clock_now() < timeout)
		timeout = c->deadline - clock_now();
	if (timeout <= 0) {
		set_cause(cause, "out of time for the run");
		goto out;
	}
	t0 = clock_now();
	for (attempt = 0; attempt < 2; attempt++) {
		free(err);
		err = NULL;
		if (http_client_request(h->peer->http, "POST", path, NULL,
		    c->frame.buf, c->frame.len, PROTO_CONTENT_TYPE, timeout,
		    PROTO_HEADER_SIZE + (size_t)n * c->cfg.n_embd * 4 + 65536,
		    &status, &c->answer, &err) == 0)
			break;
	}
	if (attempt == 2) {
		set_cause(cause, "%s", err);
		goto out;
	}
	h->seconds += clock_now() - t0;
	h->steps++;
	if (status != 200) {
		client_http_error(c, status, cause);
		goto out;
	}
	lim.width = c->cfg.n_embd;
	lim.max_tokens = (uint32_t)n;
	lim.max_pos = (uint32_t)pos0 + (uint32_t)n;
	if (proto_step_decode(c->answer.buf, c->answer.len, &lim, &got, &rows,
	    cause) != 0)
		goto out;
	if (got.n_tokens != (uint32_t)n || got.pos0 != (uint32_t)pos0 ||
	    got.step != st.step) {
		set_cause(cause, "answer for another step");
		goto out;
	}
	memcpy(hidden, rows, (size_t)n * c->cfg.n_embd * sizeof(float));
	h->next_step++;
	rc = 0;
out:
	free(err);
	free(rows);
	free(path);
	return rc;
}

static void
client_hop_keep(struct client *c, struct client_hop *h, const float *in,
    int n, int32_t pos0)
{
	struct client_input *ci;
	size_t bytes = (size_t)n * c->cfg.n_embd * sizeof(float);

	h->inputs = xreallocarray(h->inputs, h->n_inputs + 1,
	    sizeof(*h->inputs));
	ci = &h->inputs[h->n_inputs++];
	ci->pos0 = pos0;
	ci->n = n;
	ci->rows = xmalloc(bytes);
	memcpy(ci->rows, in, bytes);
}

static void
client_log_chain(struct client *c, const struct client_hop *hops, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	for (i = 0; i < n; i++)
		strbuf_addf(&sb, "%s%s [%u,%u) rtt %.2f ms", i ? ", " : "",
		    hops[i].peer->rec.addr, hops[i].begin, hops[i].end,
		    hops[i].peer->rtt * 1e3);
	client_log(c, "chain: %s", sb.buf);
	strbuf_release(&sb);
}

/*
 * Builds hops over [begin, end) and brings their caches to the state given
 * by inputs (the kept inputs of what they replace; none for a new chain).
 * Peers that fail on the way are banned and routed around.
 */
static int
client_build(struct client *c, uint32_t begin, uint32_t end,
    const struct client_input *inputs, size_t n_inputs,
    struct client_hop **out, size_t *n_out, char **cause)
{
	struct route_peer *cand = NULL;
	struct client_peer **map = NULL;
	struct route_hop *route = NULL;
	struct client_hop *hops = NULL;
	size_t n_cand, n_route = 0, i, k, j;
	float *x = NULL;
	char *err = NULL;
	int tries, rc = -1;

	*out = NULL;
	*n_out = 0;
	x = xmalloc((size_t)c->max_length * c->cfg.n_embd * sizeof(float));
	for (tries = 0; tries <= c->cfg.max_failovers; tries++) {
		if (c->deadline > 0 && clock_now() > c->deadline) {
			set_cause(cause, "out of time for the run");
			goto out;
		}
		free(cand);
		free(map);
		free(route);
		route = NULL;
		if (client_candidates(c, &cand, &n_cand, &map, cause) != 0)
			goto out;
		if (route_find(cand, n_cand, begin, end, &route, &n_route,
		    &err) != 0) {
			/* Say why peers that were there are not used. */
			if (c->last_failure != NULL)
				set_cause(cause, "%s (last failure: %s)", err,
				    c->last_failure);
			else
				set_cause(cause, "%s", err);
			goto out;
		}
		hops = xcalloc(n_route, sizeof(*hops));
		for (i = 0; i < n_route; i++) {
			hops[i].begin = route[i].begin;
			hops[i].end = route[i].end;
			hops[i].peer = map[route[i].peer];
		}
		client_log_chain(c, hops, n_route);
		for (i = 0; i < n_route; i++) {
			if (client_hop_open(c, &hops[i], &err) != 0)
				goto failed;
		}
		for (k = 0; k < n_inputs; k++) {
			memcpy(x, inputs[k].rows, (size_t)inputs[k].n *
			    c->cfg.n_embd * sizeof(float));
			for (i = 0; i < n_route; i++) {
				client_hop_keep(c, &hops[i], x, inputs[k].n,
				    inputs[k].pos0);
				if (client_hop_step(c, &hops[i], x, inputs[k].n,
				    inputs[k].pos0, &err) != 0)
					goto failed;
			}
		}
		if (n_inputs > 0)
			client_log(c, "replayed %zu steps over blocks [%u,%u)",
			    n_inputs, begin, end);
		*out = hops;
		*n_out = n_route;
		hops = NULL;
		rc = 0;
		goto out;
failed:
		client_ban(c, hops[i].peer, err);
		free(err);
		err = NULL;
		for (j = 0; j < n_route; j++) {
			client_hop_close(c, &hops[j]);
			client_hop_release(&hops[j]);
		}
		free(hops);
		hops = NULL;
		c->failovers++;
	}
	set_cause(cause, "blocks %u-%u: no working peer after %d tries",
	    begin, end - 1, tries);
out:
	free(err);
	free(x);
	free(cand);
	free(map);
	free(route);
	free(hops);
	return rc;
}

int
client_open(struct client *c, uint32_t max_length, char **cause)
{
	client_close(c);
	c->max_length = max_length;
	if (c->cfg.run_timeout > 0)
		c->deadline = clock_now() + c->cfg.run_timeout;
	return client_build(c, 0, c->cfg.n_layer, NULL, 0, &c->hops,
	    &c->n_hops, cause);
}

/* Replaces hop h by a fresh chain over its blocks, replaying its inputs. */
static int
client_repair(struct client *c, size_t h, char **cause)
{
	struct client_hop old = c->hops[h], *repl;
	size_t n_repl;

	if (client_build(c, old.begin, old.end, old.inputs, old.n_inputs,
	    &repl, &n_repl, cause) != 0)
		return -1;
	c->hops = xreallocarray(c->hops, c->n_hops + n_repl - 1,
	    sizeof(*c->hops));
	memmove(&c->hops[h + n_repl], &c->hops[h + 1], (c->n_hops - h - 1) *
	    sizeof(*c->hops));
	memcpy(&c->hops[h], repl, n_repl * sizeof(*repl));
	c->n_hops += n_repl - 1;
	free(repl);
	client_hop_release(&old);
	return 0;
}

int
client_forward(struct client *c, float *hidden, int n, int32_t pos0,
    char **cause)
{
	size_t h = 0, bytes = (size_t)n * c->cfg.n_embd * sizeof(float);
	float *in;
	char *err = NULL;
	int rc = -1;

	if (c->n_hops == 0)
		return set_cause(cause, "no chain: open a session first");
	if (n <= 0 || (uint64_t)pos0 + (uint64_t)n > c->max_length)
		return set_cause(cause, "positions %d..%d past the session's "
		    "length %u", pos0, pos0 + n - 1, c->max_length);
	in = xmalloc(bytes);
	while (h < c->n_hops) {
		struct client_hop *hop = &c->hops[h];

		memcpy(in, hidden, bytes);
		c->last_status = 0;
		if (client_hop_step(c, hop, hidden, n, pos0, &err) == 0) {
			client_hop_keep(c, hop, in, n, pos0);
			h++;
			continue;
		}
		memcpy(hidden, in, bytes);
		/*
		 * A node that forgot the session (it was idle too long) is
		 * fine: open a new one there and replay. Anything else bans.
		 */
		if (c->last_status == 404)
			client_log(c, "peer %s: %s: reopening", hop->peer->rec.addr,
			    err);
		else
			client_ban(c, hop->peer, err);
		free(err);
		err = NULL;
		if (++c->failovers > (unsigned)c->cfg.max_failovers) {
			set_cause(cause, "too many failures (%u)",
			    c->failovers);
			goto out;
		}
		if (client_repair(c, h, cause) != 0)
			goto out;
	}
	rc = 0;
out:
	free(in);
	return rc;
}

size_t
client_stats(const struct client *c, struct client_hop_stats **out)
{
	size_t i;

	*out = xcalloc(c->n_hops ? c->n_hops : 1, sizeof(**out));
	for (i = 0; i < c->n_hops; i++) {
		snprintf((*out)[i].addr, sizeof((*out)[i].addr), "%s",
		    c->hops[i].peer->rec.addr);
		(*out)[i].begin = c->hops[i].begin;
		(*out)[i].end = c->hops[i].end;
		(*out)[i].steps = c->hops[i].steps;
		(*out)[i].seconds = c->hops[i].seconds;
	}
	return c->n_hops;
}

unsigned
client_failovers(const struct client *c)
{
	return c->failovers;
}

static int
client_backend_eval(void *ctx, const int32_t *tokens, int n, int32_t pos0,
    int all_logits, float *logits, char **cause)
{
	struct client_backend *b = ctx;
	const struct model *m = b->model;
	size_t e = m->hp.n_embd;
	float *hidden;
	int rc = -1;

	hidden = xmalloc((size_t)n * e * sizeof(float));
	/* The embedding is a table lookup: no pool, no lock. */
	if (model_embed(m, tokens, n, hidden, cause) != 0 ||
	    client_forward(b->client, hidden, n, pos0, cause) != 0)
		goto out;
	if (b->pool_mu != NULL)
		pthread_mutex_lock(b->pool_mu);
	if (all_logits)
		rc = model_head(m, b->pool, hidden, n, logits, cause);
	else
		rc = model_head(m, b->pool, hidden + (size_t)(n - 1) * e, 1,
		    logits, cause);
	/* Next comes the network: the nodes need the cores more. */
	pool_idle(b->pool);
	if (b->pool_mu != NULL)
		pthread_mutex_unlock(b->pool_mu);
out:
	free(hidden);
	return rc;
}

int
client_backend_init(struct client_backend *b, const struct model *m,
    struct pool *pool, pthread_mutex_t *pool_mu, struct client *c,
    uint32_t n_ctx, struct generate_backend *be, char **cause)
{
	memset(b, 0, sizeof(*b));
	b->model = m;
	b->pool = pool;
	b->pool_mu = pool_mu;
	b->client = c;
	if (client_open(c, n_ctx, cause) != 0)
		return -1;
	be->ctx = b;
	be->n_vocab = m->hp.n_vocab;
	be->n_ctx = n_ctx;
	be->eval = client_backend_eval;
	return 0;
}
