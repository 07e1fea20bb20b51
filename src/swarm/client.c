/*
 * The client pipeline: peers, the chain, steps, failover and replay.
 *
 * Every hop keeps the inputs it was sent (one entry per step: first
 * position, row count, rows). Since a span's output depends only on its
 * inputs, a replacement chain for a failed hop's blocks that is fed the same
 * inputs, step by step, ends with the same cache and the same outputs, so
 * the hops after it never notice.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/batch.h"
#include "core/generate.h"
#include "core/model.h"
#include "core/pool.h"
#include "net/http-client.h"
#include "net/protocol.h"
#include "ledger/ledger.h"
#include "ledger/receipt.h"
#include "swarm/client.h"
#include "swarm/identity.h"
#include "swarm/record.h"
#include "swarm/push-trial.h"
#include "swarm/route.h"
#include "util/hex.h"
#include "util/strbuf.h"
#include "util/clock.h"
#include "util/logcb.h"
#include "util/xmalloc.h"

#define CLIENT_STALE_SECONDS	90	/* three refresh intervals */
#define CLIENT_BAN_FIRST	1.0	/* seconds, doubled on each failure */
#define CLIENT_BAN_MAX		300.0
#define CLIENT_HIDDEN_MAX	1e5f	/* see client_implausible */
/*
 * Verification's tolerance, as a fraction of a row's root mean square: one
 * batch against step by step, or another CPU's kernels, move the numbers
 * by far less (about 1e-6 in f32, 1e-3 with f16 on the wire); a peer that
 * changes them by more is wrong.
 */
#define CLIENT_VERIFY_TOLERANCE	0.02
/*
 * A hop that has answered before gets CLIENT_STEP_SLACK times its usual
 * time for a step of that many rows, at least CLIENT_STEP_FLOOR seconds and
 * at most the configured step timeout: a node that answers in 5 ms and then
 * hangs is left after 2 s, not after a minute.
 */
#define CLIENT_STEP_SLACK	10.0
#define CLIENT_STEP_FLOOR	2.0
/*
 * When no other peer has a span, bans are waited out, for at most this long
 * in all while building one chain: long enough for a node to restart, short
 * enough that a run through a broken one fails within a minute.
 */
#define CLIENT_BAN_WAIT_MAX	30.0
/*
 * A hop gets a receipt with a step when this long has passed since its
 * last one, and with the close: signing and verifying one costs about
 * 0.1 ms, which on every step of a small model would slow decoding by a
 * third (bench/bench-ledger.sh); receipts are cumulative, so sending fewer
 * loses nothing but how recent a crashed node's last one is.
 */
#define CLIENT_RECEIPT_SECONDS	0.25
/*
 * The wire dtype on slow links. A peer's link speed is measured on its
 * answers of at least CLIENT_LINK_SAMPLE bytes (smaller ones fit in a
 * burst and tell nothing) as bytes over the time from the first byte to
 * the last; under CLIENT_SLOW_LINK bytes/s, hidden states go in f16, which
 * halves the transfer and moves the numbers by about 1e-3 of a row's rms.
 * A LAN never gets there, so the output stays bit-identical where the wire
 * costs little; nor does a peer on this machine (loopback), whose answers,
 * copied while both sides compute, can measure under 100 MB/s. The link
 * must measure CLIENT_FAST_LINK before f32 comes back, so it does not flap.
 */
#define CLIENT_LINK_SAMPLE	32768
#define CLIENT_SLOW_LINK	5e6		/* 40 Mbit/s */
#define CLIENT_FAST_LINK	20e6
/*
 * Every CLIENT_REROUTE_SECONDS the chain is priced again (peers banned
 * after a failure probed anew), and a hop whose blocks cost less than
 * 1 - CLIENT_REROUTE_GAIN of it through others moves there, its inputs
 * replayed: a near peer back after a failure takes its blocks back. The
 * replay is a step on the new peers for each step done so far, so at half
 * the cost it pays for itself if as many steps are still to come.
 */
#define CLIENT_REROUTE_SECONDS	5.0
/*
 * A peer measured again after a ban gets this long for /info: it may be
 * hung (stopped, its socket still accepting), and the probe, run while
 * re-pricing the chain, must not stall the run for a step timeout.
 */
#define CLIENT_REPROBE_TIMEOUT	2.0
#define CLIENT_REROUTE_GAIN	0.5
#define CLIENT_REROUTE_LOOKUP	60.0	/* seconds between its lookups */
/*
 * With push a link between two peers is priced at the round trip the
 * upstream one measured and published (the rtt object of the push object
 * of its /info), read when the peer is probed and, for the peers of the
 * chain, again every CLIENT_LINKS_REFRESH seconds when the chain is priced
 * again; at most CLIENT_MAX_LINKS of them a peer (a node keeps 16).
 */
#define CLIENT_LINKS_REFRESH	30.0
#define CLIENT_MAX_LINKS	64

/* A round trip a peer published: from it to addr. */
struct client_link {
	char			 addr[256];
	double			 rtt;		/* seconds */
};

struct client_peer {
	struct peer_record	 rec;
	struct http_client	*http;
	double			 rtt;		/* < 0: not measured */
	double			 ban;		/* last ban length */
	double			 banned_until;
	char			*failure;	/* why it was last refused */
	double			 failed_at;
	/* The link, measured on answers (CLIENT_LINK_SAMPLE): decayed sums
	 * of bytes and seconds, and the dtype chosen for it. */
	double			 link_bytes;
	double			 link_seconds;
	enum proto_dtype	 dtype;
	int			 probed;	/* measured once already */
	struct client_link	*links;		/* published round trips */
	size_t			 n_links;
	double			 links_at;	/* when read */
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
	double			 row_seconds;	/* a step's time per row, averaged;
						   0: none measured yet */
	/* The account: what the node computed and what was receipted. */
	uint8_t			 node_key[RECEIPT_KEY_LEN];
	int			 has_node_key;
	uint64_t		 price;		/* micro-credits per 1000 */
	uint64_t		 tokens;	/* answered */
	uint64_t		 receipted;	/* tokens the last receipt says */
	uint64_t		 receipt_seq;
	double			 receipt_at;	/* when the last was made */
	/* The last receipt sent and not known taken: sent again until it
	 * is, since the node may have taken it (a lost answer, a wait given
	 * up) and would refuse another of the same number as replayed. */
	struct receipt		 pending;
	int			 has_pending;
	/* Push: the route the node took (client_push_routes). */
	char			 routed_addr[256];	/* "": none */
	char			 routed_session[32];
	int64_t			 routed_delta;
	int			 route_refused;	/* no push through this hop */
};

struct client_poll;

struct client_poller {
	pthread_t		 thread;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cond;
	struct client_poll	*job;		/* NULL: idle */
	int			 quit;
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
	unsigned		 verified;	/* steps checked on a replica */
	unsigned		 mismatches;
	uint64_t		 rng;		/* for the steps to verify */
	long			 last_status;	/* of the last failed request */
	struct strbuf		 frame;
	struct strbuf		 answer;
	uint64_t		 spent_units;	/* receipted, every hop */
	uint64_t		 spent_amount;
	double			 reroute_at;	/* next client_reroute */
	double			 lookup_at;	/* its next directory lookup */
	double			 step_started;	/* the last step sent, when */
	uint32_t		 step_flags;	/* of the frames sent */
	/* Push: a thread for each hop's wait, kept between steps (starting
	 * threads for every step costs more than waking them). */
	struct client_poller	*pollers;
	size_t			 n_pollers;
	uint64_t		 route_seq;	/* the last route signed */
	struct client_push_stats push;
	struct push_trial	 trial;		/* push auto */
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
	cfg->receipts = 1;
	cfg->wire_auto = 1;
}

struct client *
client_new(const struct client_config *cfg)
{
	struct client *c;

	c = xcalloc(1, sizeof(*c));
	c->cfg = *cfg;
	c->model_id = xstrdup(cfg->model_id);
	c->cfg.model_id = c->model_id;
	if (c->cfg.max_frame == 0 || c->cfg.max_frame > PROTO_MAX_BODY)
		c->cfg.max_frame = PROTO_MAX_BODY;
	if (c->cfg.reroute_interval == 0)
		c->cfg.reroute_interval = CLIENT_REROUTE_SECONDS;
	strbuf_init(&c->frame);
	strbuf_init(&c->answer);
	c->rng = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^
	    (uint64_t)(uintptr_t)c;
	if (c->rng == 0)
		c->rng = 1;
	push_trial_init(&c->trial);
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

static void	client_pollers_stop(struct client *);
static int	client_receipt(struct client *, struct client_hop *,
		    struct receipt *, int force);
static void	client_receipt_taken(struct client *, struct client_hop *,
		    const struct receipt *);

/* Closes a hop's session, best effort and quickly. */
static void
client_hop_close(struct client *c, struct client_hop *h)
{
	struct strbuf body = STRBUF_INIT;
	struct receipt r;
	long status;
	char *path, *wire;
	int have;

	if (h->session[0] == '\0' || h->peer == NULL ||
	    h->peer->banned_until > clock_now())
		return;
	/* The last receipt rides on the close. */
	if ((have = client_receipt(c, h, &r, 1)) != 0) {
		wire = receipt_wire_encode(&r);
		http_client_set_header(h->peer->http, RECEIPT_HEADER, wire);
		free(wire);
	}
	path = xasprintf("/sessions/%s", h->session);
	if (http_client_request(h->peer->http, "DELETE", path, NULL, NULL, 0,
	    NULL, 2, 1 << 16, &status, &body, NULL) == 0 && status == 200 &&
	    have && strstr(body.buf, "\"receipt_taken\":true") != NULL)
		client_receipt_taken(c, h, &r);
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
	client_pollers_stop(c);
	for (i = 0; i < c->n_peers; i++) {
		http_client_free(c->peers[i]->http);
		free(c->peers[i]->failure);
		free(c->peers[i]->links);
		free(c->peers[i]);
	}
	free(c->peers);
	strbuf_release(&c->frame);
	strbuf_release(&c->answer);
	free(c->model_id);
	free(c);
}

/* Uniform in [0, 1) (xorshift64*). */
static double
client_random(struct client *c)
{
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return (double)((c->rng * 0x2545f4914f6cdd1dULL) >> 11) / 9007199254740992.0;
}

static void
client_ban(struct client *c, struct client_peer *p, const char *why)
{
	p->ban = p->ban > 0 ? p->ban * 2 : CLIENT_BAN_FIRST;
	if (p->ban > CLIENT_BAN_MAX)
		p->ban = CLIENT_BAN_MAX;
	p->banned_until = clock_now() + p->ban;
	free(p->failure);
	p->failure = xstrdup(why);
	p->failed_at = clock_now();
	/* When it is allowed again it is measured again: a node back at
	 * the same address may be elsewhere, or have restarted busy. */
	p->rtt = -1;
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
	p->dtype = c->cfg.wire;
	if ((p->http = http_client_new(r->addr, c->cfg.connect_timeout)) ==
	    NULL)
		abort();
	if (!c->cfg.plain_http)
		http_client_channel(p->http, PROTO_CHANNEL_PATH);
	c->peers = xreallocarray(c->peers, c->n_peers + 1, sizeof(*c->peers));
	c->peers[c->n_peers++] = p;
	return p;
}

/*
 * The round trips a peer's /info (o) says it measured to others: the rtt
 * object of its status's push object, CLIENT_MAX_LINKS at most, each a
 * number of seconds under a minute (anything else is left out). None:
 * none known.
 */
static void
client_peer_links(struct client_peer *p, const json_t *o)
{
	json_t *rtt, *v;
	const char *addr;
	double x;

	free(p->links);
	p->links = NULL;
	p->n_links = 0;
	p->links_at = clock_now();
	rtt = json_object_get(json_object_get(json_object_get(o, "status"),
	    "push"), "rtt");
	if (!json_is_object(rtt) || json_object_size(rtt) == 0)
		return;
	p->links = xcalloc(CLIENT_MAX_LINKS, sizeof(*p->links));
	json_object_foreach(rtt, addr, v) {
		if (p->n_links == CLIENT_MAX_LINKS)
			break;
		x = json_number_value(v);
		if (!json_is_number(v) || !(x >= 0 && x < 60) ||
		    strlen(addr) >= sizeof(p->links->addr))
			continue;
		snprintf(p->links[p->n_links].addr, sizeof(p->links->addr),
		    "%s", addr);
		p->links[p->n_links++].rtt = x;
	}
}

/* The round trip p published to addr; -1: none. */
static double
client_peer_link(const struct client_peer *p, const char *addr)
{
	size_t i;

	for (i = 0; i < p->n_links; i++)
		if (strcmp(p->links[i].addr, addr) == 0)
			return p->links[i].rtt;
	return -1;
}

/* route_push's link over the candidates' peers (arg: the map). */
static double
client_route_link(void *arg, size_t from, size_t to)
{
	struct client_peer **map = arg;

	return client_peer_link(map[from], map[to]->rec.addr);
}

/*
 * Reads the round trips the peer published again (CLIENT_LINKS_REFRESH),
 * with the short time of a probe; a failure leaves what was known.
 */
static void
client_peer_links_refresh(struct client *c, struct client_peer *p)
{
	struct strbuf body = STRBUF_INIT;
	char *err = NULL;
	json_t *o;
	long status;

	p->links_at = clock_now();
	if (http_client_request(p->http, "GET", "/info", NULL, NULL, 0, NULL,
	    CLIENT_REPROBE_TIMEOUT, 1 << 20, &status, &body, &err) == 0 &&
	    status == 200 && (o = json_loadb(body.buf, body.len, 0,
	    NULL)) != NULL) {
		client_peer_links(p, o);
		json_decref(o);
	}
	free(err);
	strbuf_release(&body);
}

/*
 * Measures a new peer's round trip with GET /info; a peer whose answer is
 * not a record of this model is refused. The round trips it published to
 * others are kept (client_peer_links).
 */
static int
client_peer_probe(struct client *c, struct client_peer *p)
{
	struct strbuf body = STRBUF_INIT;
	struct peer_record r;
	char *cause = NULL;
	json_t *o = NULL;
	double t0, timeout = c->cfg.step_timeout;
	long status;
	int i, rc = -1;

	if (p->probed && timeout > CLIENT_REPROBE_TIMEOUT)
		timeout = CLIENT_REPROBE_TIMEOUT;
	p->probed = 1;
	/*
	 * Twice: the first request pays for the connection, the second,
	 * on it, is a round trip and nothing else; the lower counts.
	 */
	for (i = 0; i < 2; i++) {
		t0 = clock_now();
		if (http_client_request(p->http, "GET", "/info", NULL, NULL, 0,
		    NULL, timeout, 1 << 20, &status, &body, &cause) != 0) {
			client_ban(c, p, cause);
			goto out;
		}
		t0 = clock_now() - t0;
		if (i == 0 || t0 < p->rtt)
			p->rtt = t0;
		if (i == 0 && status == 200)
			strbuf_reset(&body);
		else
			break;
	}
	if (status != 200 || (o = json_loadb(body.buf, body.len, 0, NULL)) ==
	    NULL || record_from_json(json_object_get(o, "record"), &r,
	    NULL) != 0 || strcmp(r.model_id, c->model_id) != 0) {
		client_ban(c, p, "its info is not a record of this model");
		goto out;
	}
	client_peer_links(p, o);
	rc = 0;
out:
	free(cause);
	json_decref(o);
	strbuf_release(&body);
	return rc;
}

/* Asks the directory and builds the candidate list for routing. */
/*
 * *unban_at gets the earliest time a banned peer that would otherwise be
 * usable is allowed again (0: none is banned). known: the peers met so far
 * instead of the directory's (a static directory asks every peer, and a
 * hung one makes it wait).
 */
static int
client_candidates_from(struct client *c, int known, struct route_peer **out,
    size_t *n_out, struct client_peer ***map, double *unban_at, char **cause)
{
	struct peer_record *recs = NULL;
	struct client_peer *p;
	size_t n = 0, i;
	double now = clock_now();
	int64_t wall = (int64_t)time(NULL);

	*out = NULL;
	*n_out = 0;
	*map = NULL;
	*unban_at = 0;
	if (known) {
		n = c->n_peers;
		recs = xcalloc(n ? n : 1, sizeof(*recs));
		for (i = 0; i < n; i++)
			recs[i] = c->peers[i]->rec;
	} else if (c->cfg.dir->ops->lookup(c->cfg.dir, c->model_id, &recs, &n,
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
		    (c->cfg.max_price <= 0 || r->price <= c->cfg.max_price);
		if (usable && p->banned_until > now) {
			if (*unban_at == 0 || p->banned_until < *unban_at)
				*unban_at = p->banned_until;
			usable = 0;
		}
		if (usable && p->rtt < 0 && client_peer_probe(c, p) != 0) {
			/* Refused now (measured again after a ban, it is still
			 * down): worth waiting for, as any banned peer. */
			if (p->banned_until > now && (*unban_at == 0 ||
			    p->banned_until < *unban_at))
				*unban_at = p->banned_until;
			usable = 0;
		}
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

/*
 * The key this process signs its sessions with: made once, in memory, so
 * every request of a `swarm serve` counts as one client.
 */
static struct identity client_id;
static pthread_once_t client_id_once = PTHREAD_ONCE_INIT;

static void
client_identity_make(void)
{
	identity_generate(&client_id);
}

static const struct identity *
client_identity(const struct client *c)
{
	if (c->cfg.identity != NULL)
		return c->cfg.identity;
	pthread_once(&client_id_once, client_identity_make);
	return &client_id;
}

/*
 * The receipt for what hop h was answered so far (h->tokens), signed;
 * 0 when there is nothing new to receipt, no key to make it out to, or
 * (unless forced) the last one is younger than CLIENT_RECEIPT_SECONDS.
 */
static int
client_receipt(struct client *c, struct client_hop *h, struct receipt *r,
    int force)
{
	const struct identity *id = client_identity(c);
	double now = clock_now();

	if (h->has_pending) {
		*r = h->pending;
		return 1;
	}
	if (!c->cfg.receipts || !h->has_node_key || h->tokens == 0 ||
	    h->tokens == h->receipted || (!force && now - h->receipt_at <
	    CLIENT_RECEIPT_SECONDS))
		return 0;
	h->receipt_at = now;
	memset(r, 0, sizeof(*r));
	snprintf(r->session, sizeof(r->session), "%s", h->session);
	memcpy(r->client_key, id->pk, RECEIPT_KEY_LEN);
	memcpy(r->node_key, h->node_key, RECEIPT_KEY_LEN);
	snprintf(r->model_id, sizeof(r->model_id), "%s", c->model_id);
	r->block_begin = h->begin;
	r->block_end = h->end;
	r->tokens = h->tokens;
	r->units = h->tokens * (h->end - h->begin);
	r->price = h->price;
	r->amount = receipt_amount(r->units, r->price);
	r->seq = h->receipt_seq + 1;
	r->time = (int64_t)time(NULL);
	receipt_sign(r, id->sk);
	h->pending = *r;
	h->has_pending = 1;
	return 1;
}

/* The node took the receipt: it is this client's record of the use. */
static void
client_receipt_taken(struct client *c, struct client_hop *h,
    const struct receipt *r)
{
	uint64_t was = h->receipted * (h->end - h->begin);

	h->has_pending = 0;
	if (r->tokens <= h->receipted && h->receipt_seq >= r->seq)
		return;		/* the same one again */
	c->spent_units += r->units - was;
	c->spent_amount += r->amount - receipt_amount(was, r->price);
	h->receipted = r->tokens;
	h->receipt_seq = r->seq;
	if (c->cfg.ledger != NULL)
		ledger_add_receipt(c->cfg.ledger, LEDGER_SIGNED, r);
}

/*
 * The key and price a session's receipts are made out to, from the answer
 * to open. A node that names none (older, or keyless) gets no receipts.
 * The key is not checked against the record's peer id: a node restarted
 * at the same address has a new key before the directory says so.
 */
static int
client_hop_account(struct client_hop *h, json_t *o, char **cause)
{
	json_t *k = json_object_get(o, "node_key");
	json_t *p = json_object_get(o, "price");

	h->has_node_key = 0;
	h->has_pending = 0;
	h->tokens = h->receipted = h->receipt_seq = 0;
	h->receipt_at = 0;
	if (k == NULL || json_is_null(k))
		return 0;
	if (!json_is_string(k) || hex_decode(json_string_value(k),
	    h->node_key, RECEIPT_KEY_LEN) != 0 || !json_is_integer(p) ||
	    json_integer_value(p) < 0 ||
	    (uint64_t)json_integer_value(p) > RECEIPT_NUM_MAX)
		return set_cause(cause, "malformed node key or price");
	h->price = (uint64_t)json_integer_value(p);
	h->has_node_key = 1;
	return 0;
}

static int
client_hop_open(struct client *c, struct client_hop *h, char **cause)
{
	uint8_t sig[IDENTITY_SIG_LEN];
	char pk_hex[2 * IDENTITY_PK_LEN + 1], sig_hex[2 * IDENTITY_SIG_LEN + 1];
	const struct identity *id;
	int64_t ts;
	json_t *o, *v;
	char *body, *terms;
	long status;
	int rc = -1;

	/* Signed, so the node counts the session against this client. */
	ts = (int64_t)time(NULL);
	terms = proto_session_terms(c->model_id, h->begin, h->end,
	    c->max_length, ts);
	id = client_identity(c);
	identity_sign(id, terms, strlen(terms), sig);
	free(terms);
	hex_encode(id->pk, sizeof(id->pk), pk_hex);
	hex_encode(sig, sizeof(sig), sig_hex);
	body = xasprintf("{\"model_id\":\"%s\",\"block_begin\":%u,"
	    "\"block_end\":%u,\"max_length\":%u,\"client_key\":\"%s\","
	    "\"timestamp\":%lld,\"signature\":\"%s\"}", c->model_id,
	    h->begin, h->end, c->max_length, pk_hex, (long long)ts, sig_hex);
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
	else if (client_hop_account(h, o, cause) == 0) {
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
 * Is a hop's answer outside what a transformer's residual stream holds? A
 * NaN, an infinity or a magnitude past CLIENT_HIDDEN_MAX means a broken or
 * lying peer, never a model: models are trained and run in half precision,
 * whose hidden states stay within f16's range (65504).
 */
static int
client_implausible(const float *x, size_t n, char **cause)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!isfinite(x[i]))
			return set_cause(cause, "hidden state %zu is not a "
			    "finite number", i) != 0;
		if (fabsf(x[i]) > CLIENT_HIDDEN_MAX)
			return set_cause(cause, "hidden state %zu is %g, "
			    "past %g", i, (double)x[i],
			    (double)CLIENT_HIDDEN_MAX) != 0;
	}
	return 0;
}

/* How long a step of n rows may take on hop h (CLIENT_STEP_SLACK). */
static double
client_hop_timeout(const struct client *c, const struct client_hop *h, int n)
{
	double expect, timeout = c->cfg.step_timeout;

	if (h->row_seconds > 0) {
		expect = CLIENT_STEP_SLACK * h->row_seconds * n;
		if (expect < CLIENT_STEP_FLOOR)
			expect = CLIENT_STEP_FLOOR;
		if (expect < timeout)
			timeout = expect;
	}
	return timeout;
}

/*
 * A peer's answer of len bytes just came: its transfer time joins the
 * link's figures, and with wire_auto the dtype follows the link's speed.
 */
static void
client_link_measure(struct client *c, struct client_peer *p, size_t len)
{
	double first, total, rate;
	enum proto_dtype want;

	if (len < CLIENT_LINK_SAMPLE || http_client_timing(p->http, &first,
	    &total) != 0 || total <= first)
		return;
	/* Recent answers weigh most: a link's speed changes. */
	p->link_bytes = 0.7 * p->link_bytes + (double)len;
	p->link_seconds = 0.7 * p->link_seconds + (total - first);
	rate = p->link_bytes / p->link_seconds;
	if (!c->cfg.wire_auto || strncmp(p->rec.addr, "127.", 4) == 0 ||
	    strncmp(p->rec.addr, "[::1]", 5) == 0 ||
	    strncmp(p->rec.addr, "localhost:", 10) == 0)
		return;
	want = p->dtype;
	if (rate < CLIENT_SLOW_LINK)
		want = c->cfg.wire == PROTO_DTYPE_F32 ? PROTO_DTYPE_F16 :
		    c->cfg.wire;
	else if (rate > CLIENT_FAST_LINK)
		want = c->cfg.wire;
	if (want == p->dtype)
		return;
	client_log(c, "peer %s: link %.2f MB/s: hidden states in %s",
	    p->rec.addr, rate / 1e6, proto_dtype_name(want));
	p->dtype = want;
}

/* The most rows one frame may hold (client_config.max_frame). */
static int
client_frame_rows(const struct client *c)
{
	size_t rows = (c->cfg.max_frame - PROTO_HEADER_SIZE) /
	    ((size_t)c->cfg.n_embd * sizeof(float));

	if (rows > PROTO_MAX_TOKENS)
		rows = PROTO_MAX_TOKENS;
	return rows > 0 ? (int)rows : 1;
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
	struct receipt r;
	float *rows = NULL;
	char *path, *err = NULL, *wire = NULL;
	double t0, left, took, timeout;
	long status;
	int attempt, rc = -1;

	memset(&st, 0, sizeof(st));
	st.dtype = h->peer->dtype;
	st.n_tokens = (uint32_t)n;
	st.width = c->cfg.n_embd;
	st.pos0 = (uint32_t)pos0;
	st.flags = c->step_flags;
	st.step = h->next_step;
	strbuf_reset(&c->frame);
	proto_step_encode(&st, hidden, &c->frame);
	path = xasprintf("/sessions/%s/step", h->session);
	timeout = client_hop_timeout(c, h, n);
	if (c->deadline > 0 && c->deadline - clock_now() < timeout)
		timeout = c->deadline - clock_now();
	if (timeout <= 0) {
		set_cause(cause, "out of time for the run");
		goto out;
	}
	/* The steps answered so far, receipted with this one. */
	if (client_receipt(c, h, &r, 0))
		wire = receipt_wire_encode(&r);
	/* One deadline for the step, the transport's retry included. */
	t0 = c->step_started = clock_now();
	for (attempt = 0; attempt < 2; attempt++) {
		left = t0 + timeout - clock_now();
		if (attempt > 0 && left < 0.001)
			break;
		free(err);
		err = NULL;
		if (wire != NULL)
			http_client_set_header(h->peer->http, RECEIPT_HEADER,
			    wire);
		if (http_client_request_channel(h->peer->http, "POST", path,
		    NULL, c->frame.buf, c->frame.len, PROTO_CONTENT_TYPE, left,
		    PROTO_HEADER_SIZE + (size_t)n * c->cfg.n_embd * 4 + 65536,
		    &status, &c->answer, &err) == 0)
			break;
	}
	if (attempt == 2 || err != NULL) {
		set_cause(cause, "%s", err != NULL ? err : "no answer");
		goto out;
	}
	took = clock_now() - t0;
	h->seconds += took;
	h->steps++;
	h->row_seconds = h->row_seconds > 0 ? 0.8 * h->row_seconds + 0.2 *
	    took / n : took / n;
	if (status != 200) {
		client_http_error(c, status, cause);
		goto out;
	}
	if (wire != NULL)
		client_receipt_taken(c, h, &r);
	client_link_measure(c, h->peer, c->answer.len);
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
	if (client_implausible(rows, (size_t)n * c->cfg.n_embd, cause))
		goto out;
	memcpy(hidden, rows, (size_t)n * c->cfg.n_embd * sizeof(float));
	h->next_step++;
	h->tokens += (uint64_t)n;
	rc = 0;
out:
	free(wire);
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
		strbuf_addf(&sb, "%s%s blocks %u:%u rtt %.2f ms %s",
		    i ? ", " : "", hops[i].peer->rec.addr, hops[i].begin,
		    hops[i].end, hops[i].peer->rtt * 1e3,
		    proto_dtype_name(hops[i].peer->dtype));
	client_log(c, "chain: %s", sb.buf);
	strbuf_release(&sb);
}

/*
 * The cause when no chain covers [begin, end): route_find's message naming
 * the blocks, and the latest failure of a refused peer that serves one of
 * them, since that is why they lack a peer.
 */
static void
client_no_route(const struct route_peer *cand, struct client_peer **map,
    size_t n, uint32_t begin, uint32_t end, const char *err, char **cause)
{
	const struct client_peer *why = NULL;
	uint32_t b, lo, hi;
	size_t i, k;
	int covered;

	for (b = begin; b < end; b++) {
		for (covered = 0, i = 0; i < n && !covered; i++)
			covered = cand[i].usable && cand[i].rec->block_begin <=
			    b && b < cand[i].rec->block_end;
		if (covered)
			continue;
		for (k = 0; k < n; k++) {
			lo = map[k]->rec.block_begin;
			hi = map[k]->rec.block_end;
			if (map[k]->failure != NULL && lo <= b && b < hi &&
			    (why == NULL || map[k]->failed_at > why->failed_at))
				why = map[k];
		}
	}
	if (why == NULL)
		set_cause(cause, "%s", err);
	else if (strncmp(why->failure, why->rec.addr,
	    strlen(why->rec.addr)) == 0)
		set_cause(cause, "%s (last failure: %s)", err, why->failure);
	else
		set_cause(cause, "%s (last failure: %s: %s)", err,
		    why->rec.addr, why->failure);
}

/*
 * No route for want of banned peers: sleeps until the first ban runs out
 * when that keeps *waited within CLIENT_BAN_WAIT_MAX (and the run within
 * its deadline); 0 when it is not worth waiting.
 */
static int
client_wait_unban(struct client *c, double unban_at, double *waited)
{
	double wait = unban_at - clock_now();

	if (unban_at == 0 || *waited + wait > CLIENT_BAN_WAIT_MAX ||
	    (c->deadline > 0 && unban_at >= c->deadline))
		return 0;
	if (wait > 0) {
		client_log(c, "every peer left for the span is refused: "
		    "waiting %.1f s for the first to be allowed again", wait);
		clock_sleep(wait);
		*waited += wait;
	}
	return 1;
}

/*
 * Does this client push? Not when it checks its peers (verify_rate): a
 * node could forward other rows than it answers, and only rows the client
 * sent itself are known to be what a node was given.
 */
static int
client_pushes(const struct client *c)
{
	return c->cfg.push != CLIENT_PUSH_OFF && c->cfg.verify_rate <= 0;
}

/* The way a step of n rows goes: pushed, or sent to every hop. */
static enum push_way
client_push_way(struct client *c, int n)
{
	uint64_t chain = 0;
	size_t i;

	if (!client_pushes(c) || c->n_hops < 2)
		return PUSH_WAY_SENT;
	if (c->cfg.push != CLIENT_PUSH_AUTO)
		return PUSH_WAY_PUSHED;
	for (i = 0; i < c->n_hops; i++)
		chain = push_trial_chain(chain, c->hops[i].peer->rec.addr,
		    c->hops[i].begin, c->hops[i].end);
	return push_trial_way(&c->trial, c->cfg.push_memo, chain, n,
	    clock_now());
}

/* Push auto: a step's time for the trial, and its verdict when made. */
static void
client_push_timed(struct client *c, enum push_way way, int n, double took,
    int clean)
{
	struct push_trial *t = &c->trial;

	if (c->cfg.push != CLIENT_PUSH_AUTO || !push_trial_note(t,
	    c->cfg.push_memo, way, n, took, clean, clock_now()))
		return;
	client_log(c, "push auto: a token took %.2f ms pushed, %.2f ms sent "
	    "to every hop (median of %d each): %s for %.0f s", 1e3 *
	    t->median[PUSH_WAY_PUSHED], 1e3 * t->median[PUSH_WAY_SENT],
	    PUSH_TRIAL_STEPS, t->verdict == PUSH_WAY_PUSHED ? "pushing" :
	    "sending", PUSH_TRIAL_HOLD);
}

/*
 * The pricing of a pushed chain over the candidates (map): the links the
 * peers published, and the chain's ends, the peers before and after it
 * (NULL, or one no longer a candidate: the client).
 */
static void
client_route_push(struct client_peer **map, size_t n,
    const struct client_peer *before, const struct client_peer *after,
    struct route_push *push)
{
	size_t k;

	push->link = client_route_link;
	push->arg = map;
	push->from = push->to = ROUTE_CLIENT;
	for (k = 0; k < n; k++) {
		if (map[k] == before)
			push->from = k;
		if (map[k] == after)
			push->to = k;
	}
}

/* With -v: the links of a pushed chain, measured or estimated. */
static void
client_log_links(struct client *c, const struct route_peer *cand,
    struct client_peer **map, const struct route_push *push,
    const struct route_hop *route, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i, k, prev = push->from;

	for (i = 0; i <= n; i++, prev = k) {
		k = i < n ? route[i].peer : push->to;
		if (prev == ROUTE_CLIENT || k == ROUTE_CLIENT)
			continue;
		strbuf_addf(&sb, "%s%s -> %s rtt %.2f ms %s", sb.len ? ", " :
		    "", map[prev]->rec.addr, map[k]->rec.addr,
		    route_link_rtt(cand, push, prev, k) * 1e3, prev == k ?
		    "(the same peer)" : client_route_link(map, prev, k) >= 0 ?
		    "measured" : "estimated");
	}
	if (sb.len > 0)
		client_log(c, "push links: %s", sb.buf);
	strbuf_release(&sb);
}

/*
 * Builds hops over [begin, end) and brings their caches to the state given
 * by inputs (the kept inputs of what they replace; none for a new chain).
 * Peers that fail on the way are banned and routed around. before and
 * after: the peers of the hops next to these (NULL: the client), whose
 * links to them a pushed chain is priced with.
 */
static int
client_build(struct client *c, uint32_t begin, uint32_t end,
    const struct client_input *inputs, size_t n_inputs,
    const struct client_peer *before, const struct client_peer *after,
    struct client_hop **out, size_t *n_out, float *last_out, char **cause)
{
	struct route_push push;
	struct route_peer *cand = NULL;
	struct client_peer **map = NULL;
	struct route_hop *route = NULL;
	struct client_hop *hops = NULL;
	size_t n_cand, n_route = 0, i, k, j;
	double unban_at, waited = 0;
	float *x = NULL;
	char *err = NULL;
	int tries, found, known, rc = -1;
	int replacing = n_inputs > 0 || before != NULL || after != NULL;

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
		/* Replacing hops, the peers met so far first: a static
		 * directory asks every node, and the one that just hung would
		 * hold the lookup for its timeout. */
		known = tries == 0 && replacing && c->n_peers > 0;
		if (client_candidates_from(c, known, &cand, &n_cand, &map,
		    &unban_at, cause) != 0)
			goto out;
		client_route_push(map, n_cand, before, after, &push);
		if (client_pushes(c))
			found = route_find_push(cand, n_cand, &push, begin, end,
			    &route, &n_route, &err) == 0;
		else
			found = route_find(cand, n_cand, begin, end, &route,
			    &n_route, &err) == 0;
		if (!found && known) {
			/* none of them will do: ask the directory */
			free(err);
			err = NULL;
			continue;
		}
		if (!found && client_wait_unban(c, unban_at, &waited)) {
			/* The only peers of a span are banned: wait it out. */
			free(err);
			err = NULL;
			continue;
		}
		if (!found) {
			client_no_route(cand, map, n_cand, begin, end, err,
			    cause);
			goto out;
		}
		hops = xcalloc(n_route, sizeof(*hops));
		for (i = 0; i < n_route; i++) {
			hops[i].begin = route[i].begin;
			hops[i].end = route[i].end;
			hops[i].peer = map[route[i].peer];
		}
		client_log_chain(c, hops, n_route);
		if (client_pushes(c))
			client_log_links(c, cand, map, &push, route, n_route);
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
		if (n_inputs > 0 && last_out != NULL)
			memcpy(last_out, x, (size_t)inputs[n_inputs - 1].n *
			    c->cfg.n_embd * sizeof(float));
		else if (n_inputs > 0)
			client_log(c, "replayed %zu steps over blocks %u:%u",
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
	set_cause(cause, "blocks %u:%u have no working peer after %d tries",
	    begin, end, tries);
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
	if (c->cfg.push == CLIENT_PUSH_OFF)
		client_log(c, "steps: sent to every hop by the client (push "
		    "off)");
	else if (!client_pushes(c))
		client_log(c, "steps: sent to every hop by the client (push "
		    "off: checking replicas needs every hop's input)");
	else if (c->cfg.push == CLIENT_PUSH_AUTO)
		client_log(c, "steps: pushed node to node or sent to every hop "
		    "by the client, whichever a trial finds faster (push "
		    "auto)");
	else
		client_log(c, "steps: pushed node to node (push on)");
	if (c->cfg.run_timeout > 0)
		c->deadline = clock_now() + c->cfg.run_timeout;
	c->reroute_at = clock_now() + c->cfg.reroute_interval;
	c->lookup_at = clock_now() + CLIENT_REROUTE_LOOKUP;
	return client_build(c, 0, c->cfg.n_layer, NULL, 0, NULL, NULL,
	    &c->hops, &c->n_hops, NULL, cause);
}

/* Closes and frees n hops (the array itself is the caller's). */
static void
client_hops_free(struct client *c, struct client_hop *hops, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		client_hop_close(c, &hops[i]);
		client_hop_release(&hops[i]);
	}
}

/* Puts the chain repl (n_repl hops, taken) in the place of hop h. */
static void
client_replace(struct client *c, size_t h, struct client_hop *repl,
    size_t n_repl)
{
	struct client_hop old = c->hops[h];

	c->hops = xreallocarray(c->hops, c->n_hops + n_repl - 1,
	    sizeof(*c->hops));
	memmove(&c->hops[h + n_repl], &c->hops[h + 1], (c->n_hops - h - 1) *
	    sizeof(*c->hops));
	memcpy(&c->hops[h], repl, n_repl * sizeof(*repl));
	c->n_hops += n_repl - 1;
	free(repl);
	client_hop_release(&old);
}

/* The peers next to hop h (NULL: the client's end). */
static const struct client_peer *
client_hop_before(const struct client *c, size_t h)
{
	return h > 0 ? c->hops[h - 1].peer : NULL;
}

static const struct client_peer *
client_hop_after(const struct client *c, size_t h)
{
	return h + 1 < c->n_hops ? c->hops[h + 1].peer : NULL;
}

/* Replaces hop h by a fresh chain over its blocks, replaying its inputs. */
static int
client_repair(struct client *c, size_t h, char **cause)
{
	struct client_hop *repl;
	size_t n_repl;
	double t0 = c->step_started;	/* the step that failed */

	if (client_build(c, c->hops[h].begin, c->hops[h].end,
	    c->hops[h].inputs, c->hops[h].n_inputs, client_hop_before(c, h),
	    client_hop_after(c, h), &repl, &n_repl, NULL, cause) != 0)
		return -1;
	/* From the failed step's start to a chain that has caught up. */
	client_log(c, "blocks %u:%u: stalled %.3f s (failure, new chain, "
	    "%zu steps replayed)", c->hops[h].begin, c->hops[h].end,
	    clock_now() - t0, c->hops[h].n_inputs);
	client_replace(c, h, repl, n_repl);
	return 0;
}

/*
 * Do two answers for the same rows agree as far as different CPUs and
 * batch sizes explain? Each row may differ by VERIFY_TOLERANCE of its
 * root mean square, element by element; *worst gets the largest ratio.
 */
static int
client_agree(const float *a, const float *b, int n, size_t e, double *worst)
{
	double ss, rms, d;
	size_t j;
	int i;

	*worst = 0;
	for (i = 0; i < n; i++, a += e, b += e) {
		for (ss = 0, j = 0; j < e; j++)
			ss += (double)b[j] * b[j];
		rms = sqrt(ss / (double)e) + 1e-6;
		for (j = 0; j < e; j++) {
			d = fabs((double)a[j] - b[j]) / rms;
			if (!(d <= *worst))	/* NaN counts as the worst */
				*worst = d;
		}
	}
	return *worst <= CLIENT_VERIFY_TOLERANCE;
}

/*
 * Verification: hop h has just answered out[n] for its latest step. Every
 * row it was sent goes, as one batch from its first position, through
 * another replica of its blocks (any chain of other peers), and the last n
 * rows are compared. No other replica: the step stays unchecked (0).
 *
 * On a mismatch the hop's peer is refused for as long as a ban lasts, the
 * other chain takes its place (its cache holds the same rows), and since
 * the hops after it were fed the liar's numbers, they are rebuilt too, from
 * the honest batch: out then holds the whole chain's answer for this step
 * and 1 is returned. -1: that rebuild failed.
 */
static int
client_verify(struct client *c, size_t h, float *out, int n, char **cause)
{
	struct client_hop *hop = &c->hops[h], *repl = NULL, *tail = NULL;
	struct client_peer *suspect = hop->peer;
	struct client_input all, honest;
	size_t k, n_repl = 0, n_tail = 0, e = c->cfg.n_embd, off = 0;
	double saved = suspect->banned_until, worst;
	float *check, *final = NULL;
	char *err = NULL;
	int rc = 0;

	all.pos0 = hop->inputs[0].pos0;
	for (all.n = 0, k = 0; k < hop->n_inputs; k++) {
		if (hop->inputs[k].pos0 != all.pos0 + all.n)
			return 0;	/* not one run of positions */
		all.n += hop->inputs[k].n;
	}
	all.rows = xmalloc((size_t)all.n * e * sizeof(float));
	check = xmalloc((size_t)all.n * e * sizeof(float));
	for (k = 0; k < hop->n_inputs; k++) {
		memcpy(all.rows + off, hop->inputs[k].rows,
		    (size_t)hop->inputs[k].n * e * sizeof(float));
		off += (size_t)hop->inputs[k].n * e;
	}
	suspect->banned_until = INFINITY;	/* another replica, not it */
	if (client_build(c, hop->begin, hop->end, &all, 1, NULL, NULL, &repl,
	    &n_repl, check, &err) != 0) {
		client_log(c, "verify: blocks %u:%u unchecked: %s",
		    hop->begin, hop->end, err);
		suspect->banned_until = saved;
		goto out;
	}
	suspect->banned_until = saved;
	c->verified++;
	if (client_agree(out, check + (size_t)(all.n - n) * e, n, e, &worst)) {
		client_hops_free(c, repl, n_repl);
		free(repl);
		goto out;
	}
	c->mismatches++;
	client_log(c, "verify: peers %s (%.16s) and %s (%.16s) disagree on "
	    "blocks %u:%u, by %.3g of a row's rms: refusing %s",
	    suspect->rec.addr, suspect->rec.peer_id, repl[0].peer->rec.addr,
	    repl[0].peer->rec.peer_id, hop->begin, hop->end, worst,
	    suspect->rec.addr);
	suspect->ban = CLIENT_BAN_MAX;
	client_ban(c, suspect, "its answer differs from another replica's");
	if (hop->end < c->cfg.n_layer) {
		honest.pos0 = all.pos0;
		honest.n = all.n;
		honest.rows = check;
		final = xmalloc((size_t)all.n * e * sizeof(float));
		if (client_build(c, hop->end, c->cfg.n_layer, &honest, 1, NULL,
		    NULL, &tail, &n_tail, final, cause) != 0) {
			client_hops_free(c, repl, n_repl);
			free(repl);
			rc = -1;
			goto out;
		}
	}
	memcpy(out, (final != NULL ? final : check) + (size_t)(all.n - n) * e,
	    (size_t)n * e * sizeof(float));
	/* The chain is now hops before h, repl, then tail. */
	client_hops_free(c, c->hops + h, c->n_hops - h);
	c->hops = xreallocarray(c->hops, h + n_repl + n_tail,
	    sizeof(*c->hops));
	memcpy(c->hops + h, repl, n_repl * sizeof(*repl));
	if (n_tail > 0)
		memcpy(c->hops + h + n_repl, tail, n_tail * sizeof(*tail));
	c->n_hops = h + n_repl + n_tail;
	free(repl);
	free(tail);
	rc = 1;
out:
	free(err);
	free(all.rows);
	free(check);
	free(final);
	return rc;
}

/*
 * A cheaper chain than the current one over some hop's blocks (see
 * CLIENT_REROUTE_SECONDS)? Then that hop moves, its inputs replayed on the
 * new peers; if they fail, it stays where it is. With push both are priced
 * between the hop's neighbours, with the round trips the chain's peers
 * published lately (CLIENT_LINKS_REFRESH).
 */
static void
client_reroute(struct client *c)
{
	struct route_peer *cand = NULL;
	struct client_peer **map = NULL;
	struct route_hop *route = NULL, now;
	struct client_hop *repl;
	struct route_push push;
	size_t n_cand, n_route, n_repl, h, k;
	double unban_at, now_cost, new_cost;
	char *err = NULL;
	int pushing = client_pushes(c);

	c->reroute_at = clock_now() + c->cfg.reroute_interval;
	/* The last hop's links lead nowhere in the chain. */
	for (h = 0; pushing && h + 1 < c->n_hops; h++)
		if (clock_now() >= c->hops[h].peer->links_at +
		    CLIENT_LINKS_REFRESH)
			client_peer_links_refresh(c, c->hops[h].peer);
	/* The directory anew once a minute; the peers known otherwise. */
	if (client_candidates_from(c, clock_now() < c->lookup_at, &cand,
	    &n_cand, &map, &unban_at, &err) != 0)
		goto out;
	if (clock_now() >= c->lookup_at)
		c->lookup_at = clock_now() + CLIENT_REROUTE_LOOKUP;
	for (h = 0; h < c->n_hops; h++) {
		struct client_hop *hop = &c->hops[h];

		for (k = 0; k < n_cand && map[k] != hop->peer; k++)
			;
		/* Gone from the directory or refused: failover's work. */
		if (k == n_cand || !cand[k].usable)
			continue;
		now.begin = hop->begin;
		now.end = hop->end;
		now.peer = k;
		client_route_push(map, n_cand, client_hop_before(c, h),
		    client_hop_after(c, h), &push);
		now_cost = route_chain_cost(cand, pushing ? &push : NULL, &now,
		    1);
		free(route);
		route = NULL;
		free(err);
		err = NULL;
		if ((pushing ? route_find_push(cand, n_cand, &push, hop->begin,
		    hop->end, &route, &n_route, &err) : route_find(cand, n_cand,
		    hop->begin, hop->end, &route, &n_route, &err)) != 0)
			continue;
		if (n_route == 1 && map[route[0].peer] == hop->peer)
			continue;
		new_cost = route_chain_cost(cand, pushing ? &push : NULL, route,
		    n_route);
		if (new_cost > now_cost * (1 - CLIENT_REROUTE_GAIN))
			continue;
		client_log(c, "reroute: blocks %u:%u cost %.2f ms through %s, "
		    "%.2f ms through %s: moving", hop->begin, hop->end,
		    now_cost * 1e3, hop->peer->rec.addr, new_cost * 1e3,
		    map[route[0].peer]->rec.addr);
		if (client_build(c, hop->begin, hop->end, hop->inputs,
		    hop->n_inputs, client_hop_before(c, h),
		    client_hop_after(c, h), &repl, &n_repl, NULL, &err) != 0) {
			client_log(c, "reroute: blocks %u:%u stay: %s",
			    hop->begin, hop->end, err);
			continue;
		}
		client_hop_close(c, hop);
		client_replace(c, h, repl, n_repl);
		h += n_repl - 1;
	}
out:
	free(err);
	free(cand);
	free(map);
	free(route);
}

/* client_forward over frames of at most rows rows each. */
static int
client_forward_chunks(struct client *c, float *hidden, int n, int32_t pos0,
    int rows, char **cause)
{
	int off, k;

	client_log(c, "%d rows over %d steps of at most %d (a frame holds "
	    "%zu bytes)", n, (n + rows - 1) / rows, rows, c->cfg.max_frame);
	for (off = 0; off < n; off += k) {
		k = n - off < rows ? n - off : rows;
		if (client_forward(c, hidden + (size_t)off * c->cfg.n_embd, k,
		    pos0 + off, cause) != 0)
			return -1;
	}
	return 0;
}

/* --- push ----------------------------------------------------------------- */

#define CLIENT_WAIT_HEADER	"X-Swarm-Wait"
/* The most a node lets a client wait for one answer (node.c's). */
#define CLIENT_WAIT_MAX		60.0

/*
 * Tells every hop but the last where its pushed outputs go: the next
 * hop's address and session, signed, whenever that changed (a new chain,
 * a repair). -1 when a hop will not push (an older node, a refusal): the
 * step then goes hop by hop.
 */
static int
client_push_routes(struct client *c)
{
	uint8_t sig[IDENTITY_SIG_LEN];
	char sig_hex[2 * IDENTITY_SIG_LEN + 1], *terms, *body, *path;
	char *err = NULL, *code = NULL, *msg = NULL;
	struct client_hop *h, *next;
	int64_t delta;
	long status;
	size_t i, j;

	/* One connection a peer: a peer twice in the chain (a repair took
	 * part of its span) cannot be waited on and stepped at once. */
	for (i = 0; i < c->n_hops; i++)
		for (j = i + 1; j < c->n_hops; j++)
			if (c->hops[i].peer == c->hops[j].peer)
				return -1;
	for (i = 0; i + 1 < c->n_hops; i++) {
		h = &c->hops[i];
		next = &c->hops[i + 1];
		delta = (int64_t)next->next_step - (int64_t)h->next_step;
		if (h->route_refused)
			return -1;
		if (strcmp(h->routed_addr, next->peer->rec.addr) == 0 &&
		    strcmp(h->routed_session, next->session) == 0 &&
		    h->routed_delta == delta)
			continue;
		c->route_seq++;
		terms = proto_route_terms(c->model_id, h->session,
		    next->peer->rec.addr, next->session, delta, c->route_seq);
		identity_sign(client_identity(c), terms, strlen(terms), sig);
		free(terms);
		hex_encode(sig, sizeof(sig), sig_hex);
		body = xasprintf("{\"next\":\"%s\",\"next_session\":\"%s\","
		    "\"step_delta\":%lld,\"seq\":%llu,\"signature\":\"%s\"}",
		    next->peer->rec.addr, next->session, (long long)delta,
		    (unsigned long long)c->route_seq, sig_hex);
		path = xasprintf("/sessions/%s/route", h->session);
		if (http_client_request(h->peer->http, "POST", path, NULL, body,
		    strlen(body), "application/json", c->cfg.step_timeout,
		    1 << 16, &status, &c->answer, &err) == 0 && status != 200) {
			if (proto_error_parse(c->answer.buf, c->answer.len,
			    &code, &msg) == 0)
				err = xasprintf("HTTP %ld: %s", status, msg);
			else
				err = xasprintf("HTTP status %ld", status);
		}
		free(body);
		free(path);
		free(code);
		free(msg);
		code = msg = NULL;
		if (err != NULL) {
			client_log(c, "push: peer %s will not forward (%s): "
			    "steps go hop by hop", h->peer->rec.addr, err);
			free(err);
			h->route_refused = 1;
			c->push.refused++;
			return -1;
		}
		snprintf(h->routed_addr, sizeof(h->routed_addr), "%s",
		    next->peer->rec.addr);
		snprintf(h->routed_session, sizeof(h->routed_session), "%s",
		    next->session);
		h->routed_delta = delta;
	}
	return 0;
}

/* A wait for one hop's answer to a pushed step, on a thread of its own. */
struct client_poll {
	struct client_hop	*h;
	char			*path;
	double			 wait;
	size_t			 max_answer;
	char			*wire;		/* a receipt, or NULL */
	struct receipt		 r;
	const int		*abort;		/* stop waiting (another failed) */
	struct strbuf		 answer;
	long			 status;
	char			*err;
	double			 took;
	int			 rc;
	int			 started;
	int			 done;		/* the request is over */
};

static int
client_poll_data(void *arg, const char *data, size_t len)
{
	struct client_poll *p = arg;

	if (data == NULL)
		return __atomic_load_n(p->abort, __ATOMIC_ACQUIRE);
	if (p->answer.len + len > p->max_answer) {
		p->err = xasprintf("%s: answer over %zu bytes",
		    p->h->peer->rec.addr, p->max_answer);
		return 1;
	}
	strbuf_add(&p->answer, data, len);
	return 0;
}

static void *
client_poll_run(void *arg)
{
	struct client_poll *p = arg;
	char wait[32];
	double t0 = clock_now();

	snprintf(wait, sizeof(wait), "%.3f", p->wait);
	http_client_set_header(p->h->peer->http, CLIENT_WAIT_HEADER, wait);
	if (p->wire != NULL)
		http_client_set_header(p->h->peer->http, RECEIPT_HEADER,
		    p->wire);
	p->rc = http_client_stream(p->h->peer->http, p->path, NULL, NULL, 0,
	    p->wait + 1, client_poll_data, p, &p->status, &p->err);
	if (p->rc == 1 && p->err == NULL)
		p->err = xstrdup("stopped");
	p->took = clock_now() - t0;
	__atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Ends the pollers (none may have a wait running). */
static void
client_pollers_stop(struct client *c)
{
	struct client_poller *w;
	size_t i;

	for (i = 0; i < c->n_pollers; i++) {
		w = &c->pollers[i];
		pthread_mutex_lock(&w->mu);
		w->quit = 1;
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cond);
	}
	free(c->pollers);
	c->pollers = NULL;
	c->n_pollers = 0;
}

static void *
client_poller_main(void *arg)
{
	struct client_poller *w = arg;
	struct client_poll *p;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->job == NULL && !w->quit)
			pthread_cond_wait(&w->cond, &w->mu);
		if (w->quit)
			break;
		p = w->job;
		pthread_mutex_unlock(&w->mu);
		client_poll_run(p);
		pthread_mutex_lock(&w->mu);
		w->job = NULL;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/*
 * Makes n pollers, between steps (no wait runs): the threads hold
 * pointers into the array, so a longer chain starts them all anew.
 */
static void
client_pollers_ensure(struct client *c, size_t n)
{
	struct client_poller *w;
	size_t i;

	if (n <= c->n_pollers)
		return;
	client_pollers_stop(c);
	c->pollers = xcalloc(n, sizeof(*c->pollers));
	for (i = 0; i < n; i++) {
		w = &c->pollers[i];
		pthread_mutex_init(&w->mu, NULL);
		pthread_cond_init(&w->cond, NULL);
		if (pthread_create(&w->thread, NULL, client_poller_main, w) !=
		    0) {
			pthread_mutex_destroy(&w->mu);
			pthread_cond_destroy(&w->cond);
			break;
		}
		c->n_pollers++;
	}
}

/* Hands wait p to poller k; 0 when there is no such thread. */
static int
client_poller_start(struct client *c, size_t k, struct client_poll *p)
{
	struct client_poller *w;

	if (k >= c->n_pollers)
		return 0;
	w = &c->pollers[k];
	pthread_mutex_lock(&w->mu);
	w->job = p;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mu);
	return 1;
}

/* Waits for poller k's wait to be over. */
static void
client_poller_join(struct client *c, size_t k)
{
	struct client_poller *w = &c->pollers[k];

	pthread_mutex_lock(&w->mu);
	while (w->job != NULL)
		pthread_cond_wait(&w->cond, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

/*
 * Stops the waits still running: nothing will reach their hops. The flag
 * ends a wait within a second (curl's progress calls); breaking the
 * connection ends it now.
 */
static void
client_push_abort(struct client_poll *polls, size_t from, size_t nh,
    int *flag)
{
	size_t k;

	__atomic_store_n(flag, 1, __ATOMIC_RELEASE);
	for (k = from; k < nh; k++)
		if (polls[k].started && !__atomic_load_n(&polls[k].done,
		    __ATOMIC_ACQUIRE))
			http_client_abort(polls[k].h->peer->http);
}

/*
 * One pushed step: the rows go to hop 0 with the push flag; the other
 * hops' answers are waited for at once. *done gets how many hops answered
 * in order (their inputs kept, hidden the last one's answer), so that the
 * caller finishes the step hop by hop from there. When the first hop that
 * did not answer gave no answer at all (it was told how long to wait and
 * let the wait pass a second more: hung, or gone), *mute is its index and
 * *mute_cause why, so that the caller does not ask it again.
 */
static void
client_push_step(struct client *c, float *hidden, int n, int32_t pos0,
    size_t *done, size_t *mute, char **mute_cause)
{
	size_t k, nh = c->n_hops, e = c->cfg.n_embd;
	size_t bytes = (size_t)n * e * sizeof(float);
	struct client_poll *polls, *p;
	struct proto_limits lim;
	struct proto_step got;
	double wait = 0;
	float *in, *rows = NULL;
	char *err = NULL;
	int abort_polls = 0;

	*done = 0;
	client_pollers_ensure(c, nh);
	polls = xcalloc(nh, sizeof(*polls));
	in = xmalloc(bytes);
	for (k = 0; k < nh; k++) {
		/* Hop k answers once every hop up to it has computed. */
		wait += client_hop_timeout(c, &c->hops[k], n);
		if (k == 0)
			continue;
		p = &polls[k];
		p->h = &c->hops[k];
		p->path = xasprintf("/sessions/%s/steps/%llu", p->h->session,
		    (unsigned long long)p->h->next_step);
		p->wait = wait < CLIENT_WAIT_MAX ? wait : CLIENT_WAIT_MAX;
		if (c->deadline > 0 && c->deadline - clock_now() < p->wait)
			p->wait = c->deadline - clock_now();
		if (p->wait < 0)
			p->wait = 0;
		p->max_answer = PROTO_HEADER_SIZE + bytes + 65536;
		p->abort = &abort_polls;
		strbuf_init(&p->answer);
		if (client_receipt(c, p->h, &p->r, 0))
			p->wire = receipt_wire_encode(&p->r);
		p->started = client_poller_start(c, k, p);
	}
	memcpy(in, hidden, bytes);
	c->step_flags = PROTO_FLAG_PUSH;
	if (client_hop_step(c, &c->hops[0], hidden, n, pos0, &err) == 0) {
		client_hop_keep(c, &c->hops[0], in, n, pos0);
		*done = 1;
	} else {
		memcpy(hidden, in, bytes);
		client_log(c, "push: hop 0 (%s) failed: %s",
		    c->hops[0].peer->rec.addr, err);
		client_push_abort(polls, 1, nh, &abort_polls);
	}
	c->step_flags = 0;
	free(err);
	err = NULL;
	lim.width = (uint32_t)e;
	lim.max_tokens = (uint32_t)n;
	lim.max_pos = (uint32_t)pos0 + (uint32_t)n;
	for (k = 1; k < nh; k++) {
		p = &polls[k];
		if (p->started)
			client_poller_join(c, k);
		if (*done != k)
			continue;
		free(rows);
		rows = NULL;
		if (!p->started)
			err = xstrdup("cannot start a thread");
		else if (p->rc != 0)
			err = xstrdup(p->err != NULL ? p->err : "no answer");
		else if (p->status != 200) {
			strbuf_reset(&c->answer);
			strbuf_add(&c->answer, p->answer.buf, p->answer.len);
			client_http_error(c, p->status, &err);
		} else if (proto_step_decode(p->answer.buf, p->answer.len, &lim,
		    &got, &rows, &err) != 0)
			;
		else if (got.n_tokens != (uint32_t)n ||
		    got.pos0 != (uint32_t)pos0 || got.step != p->h->next_step)
			err = xstrdup("answer for another step");
		else
			client_implausible(rows, (size_t)n * e, &err);
		if (err != NULL) {
			client_log(c, "push: no answer from hop %zu (%s): %s",
			    k, p->h->peer->rec.addr, err);
			if (p->started && p->rc < 0) {
				*mute = k;
				*mute_cause = err;
			} else
				free(err);
			err = NULL;
			client_push_abort(polls, k + 1, nh, &abort_polls);
			continue;
		}
		/* Its input is the answer before it. */
		client_hop_keep(c, p->h, hidden, n, pos0);
		memcpy(hidden, rows, bytes);
		p->h->next_step++;
		p->h->tokens += (uint64_t)n;
		p->h->steps++;
		p->h->seconds += p->took;
		/* From the step's start: a timeout's bound, not a figure. */
		p->h->row_seconds = p->h->row_seconds > 0 ? 0.8 *
		    p->h->row_seconds + 0.2 * p->took / n : p->took / n;
		if (p->wire != NULL)
			client_receipt_taken(c, p->h, &p->r);
		*done = k + 1;
	}
	for (k = 1; k < nh; k++) {
		free(polls[k].path);
		free(polls[k].wire);
		free(polls[k].err);
		strbuf_release(&polls[k].answer);
	}
	free(rows);
	free(polls);
	free(in);
}

int
client_forward(struct client *c, float *hidden, int n, int32_t pos0,
    char **cause)
{
	size_t h = 0, bytes = (size_t)n * c->cfg.n_embd * sizeof(float);
	size_t mute = SIZE_MAX;
	double check = -1, t0 = 0, started;
	float *in;
	char *err = NULL, *mute_cause = NULL;
	enum push_way way;
	unsigned failovers;
	int v, stalled = 0, rc = -1;

	if (c->n_hops == 0)
		return set_cause(cause, "no chain: open a session first");
	if (n <= 0 || (uint64_t)pos0 + (uint64_t)n > c->max_length)
		return set_cause(cause, "positions %d..%d past the session's "
		    "length %u", pos0, pos0 + n - 1, c->max_length);
	if (n > client_frame_rows(c))
		return client_forward_chunks(c, hidden, n, pos0,
		    client_frame_rows(c), cause);
	if (c->cfg.reroute_interval > 0 && clock_now() >= c->reroute_at)
		client_reroute(c);
	in = xmalloc(bytes);
	/* Which hop this step is checked on, if any (client_verify). */
	if (c->cfg.verify_rate > 0 && client_random(c) < c->cfg.verify_rate)
		check = client_random(c) * (double)c->n_hops;
	started = clock_now();
	failovers = c->failovers;
	way = client_push_way(c, n);
	if (way == PUSH_WAY_PUSHED && client_push_routes(c) == 0) {
		t0 = clock_now();
		client_push_step(c, hidden, n, pos0, &h, &mute, &mute_cause);
		c->push.pushed++;
		if (h < c->n_hops)
			stalled = 1;
	} else {
		way = PUSH_WAY_SENT;
		if (client_pushes(c))
			c->push.sent++;
	}
	while (h < c->n_hops) {
		struct client_hop *hop = &c->hops[h];

		memcpy(in, hidden, bytes);
		c->last_status = 0;
		if (h == mute) {
			/* It let the push's wait pass: asked again, it would
			 * take as long to fail again. */
			err = mute_cause;
			mute_cause = NULL;
			mute = SIZE_MAX;
		} else if (client_hop_step(c, hop, hidden, n, pos0, &err) == 0) {
			client_hop_keep(c, hop, in, n, pos0);
			if ((double)h == floor(check) &&
			    (v = client_verify(c, h, hidden, n, cause)) != 0) {
				/* -1: failed; 1: hidden is the chain's answer */
				rc = v < 0 ? -1 : 0;
				goto out;
			}
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
	client_push_timed(c, way, n, clock_now() - started, !stalled &&
	    c->failovers == failovers);
out:
	if (stalled) {
		c->push.stalls++;
		c->push.stall_seconds += clock_now() - t0;
		client_log(c, "push: step at position %d stalled %.3f s and was "
		    "finished hop by hop", pos0, clock_now() - t0);
	}
	free(mute_cause);
	free(in);
	return rc;
}

void
client_push_stats(const struct client *c, struct client_push_stats *st)
{
	*st = c->push;
	st->mode = client_pushes(c) ? c->cfg.push : CLIENT_PUSH_OFF;
	st->on = st->mode == CLIENT_PUSH_ON || (st->mode == CLIENT_PUSH_AUTO &&
	    c->trial.verdict != PUSH_WAY_SENT);
	st->trial_pushed = c->trial.median[PUSH_WAY_PUSHED];
	st->trial_sent = c->trial.median[PUSH_WAY_SENT];
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
		(*out)[i].dtype = c->hops[i].peer->dtype;
		(*out)[i].link_rate = c->hops[i].peer->link_seconds > 0 ?
		    c->hops[i].peer->link_bytes /
		    c->hops[i].peer->link_seconds : 0;
	}
	return c->n_hops;
}

void
client_spent(struct client *c, uint64_t *units, uint64_t *amount)
{
	*units = c->spent_units;
	*amount = c->spent_amount;
}

unsigned
client_failovers(const struct client *c)
{
	return c->failovers;
}

unsigned
client_verified(const struct client *c, unsigned *mismatches)
{
	if (mismatches != NULL)
		*mismatches = c->mismatches;
	return c->verified;
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
	if (b->head_batch != NULL) {
		rc = all_logits ? batch_eval_head(b->head_batch, b, hidden, n,
		    logits, cause) : batch_eval_head(b->head_batch, b, hidden +
		    (size_t)(n - 1) * e, 1, logits, cause);
		goto out;
	}
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
