/*
 * The node runtime: the HTTP endpoints of the protocol over a span of a
 * model, the session table, the housekeeping thread (idle sessions, the
 * announcer) and the drain. The accounting (receipts, balances, credit) is
 * node-ledger.c's; this file asks it at each open, step and close.
 *
 * Locking: node->mu guards the session table, the counters and the state;
 * node->compute, the merit queue (node-queue.c), serializes forward passes
 * on the one thread pool, creditors first. A session
 * being stepped is marked busy so that it is neither freed nor stepped twice
 * while node->mu is released for the computation.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/batch.h"
#include "core/gguf.h"
#include "core/model.h"
#include "core/pool.h"
#include "core/weights.h"
#include "net/http-client.h"
#include "net/http-server.h"
#include "net/protocol.h"
#include "swarm/identity.h"
#include "swarm/model-id.h"
#include "swarm/node.h"
#include "swarm/node-ledger.h"
#include "swarm/node-queue.h"
#include "util/hex.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include "util/clock.h"
#include "util/logcb.h"
#include "util/rate.h"
#include "util/xmalloc.h"

#define NODE_VERSION	"0.1.0"
/* How far a session signature's time may be from the node's, seconds. */
#define NODE_SIGNATURE_SKEW	300

struct node_session {
	uint64_t		 id;
	uint32_t		 block_begin;
	uint32_t		 block_end;
	uint32_t		 max_length;
	struct kv_cache		*kv;
	char			 client[PEER_ID_LEN + 1];	/* "": anonymous */
	double			 last_used;	/* of its last computed step */
	int			 busy;
	uint64_t		 next_step;
	struct strbuf		 answer;	/* the answer to next_step - 1 */
	struct node_ledger_account acct;
	/* The key that signed the open; push routes must carry its
	 * signature. */
	uint8_t			 client_pk[IDENTITY_PK_LEN];
	int			 has_client_pk;
	/* Push: where the outputs of pushed steps go (node_handle_route). */
	char			*push_addr;	/* NULL: nowhere */
	char			 push_session[17];
	int64_t			 push_delta;	/* next hop's step - this one's */
	uint64_t		 route_seq;
	/* A pushed step refused (its status; 0: none), so that the client
	 * waiting for it hears at once rather than at its timeout. */
	int			 push_refused;
	uint64_t		 push_refused_step;
	struct node_session	*next;
};

/* A connection to a next hop, kept between forwards. */
struct node_pusher {
	struct http_client	*http;
	struct node_pusher	*next;
};

/*
 * Push: the round trip to a next hop (the rtt object of /info's push
 * object, what a client prices the link at), smoothed over samples: one
 * when a route to it comes, then the forwards' times less the next hop's
 * compute. NODE_RTT_MAX of them, the least recently measured replaced.
 */
#define NODE_RTT_MAX		16
/* A new sample's weight in the smoothed figure. */
#define NODE_RTT_GAIN		0.125
/*
 * Forwards of larger frames are not samples: their time is the link's
 * bandwidth as much as its latency (16 KiB: a row of 4096 floats).
 */
#define NODE_RTT_SAMPLE_BYTES	(16 << 10)

struct node_rtt {
	char		 addr[256];
	double		 rtt;		/* seconds */
	double		 at;		/* its last sample */
};

/* The counters of push (the push object of /info's status). */
struct node_push_stats {
	uint64_t	 from_client;	/* steps computed, sent by a client */
	uint64_t	 from_peer;	/* steps computed, pushed by a peer */
	uint64_t	 on_channels;	/* steps computed that came on one */
	uint64_t	 forwarded;	/* outputs forwarded to the next hop */
	uint64_t	 forward_failed;
	uint64_t	 waits;		/* answers fetched by waiting clients */
	uint64_t	 routes;	/* routes taken */
	uint64_t	 refused;	/* routes refused: an open relay asked */
};

struct node {
	struct node_config	 cfg;
	char			*model_path;
	char			*public_addr;
	char			*peer_id;
	char			*data_dir;
	char			*token;
	char			*token_path;
	char			 model_id[MODEL_ID_MAX];
	struct gguf_file	*gguf;
	struct model		*model;
	struct pool		*pool;
	struct http_server	*http;
	struct http_route	*routes;	/* the server's table */
	uint16_t		 port;
	double			 throughput;
	double			 started;

	pthread_mutex_t		 mu;
	char			*held;		/* under mu */
	pthread_cond_t		 cond;
	/* Steps one at a time (batching off) take turns by merit. */
	struct node_queue	 compute;	/* the merit queue */
	/* The pool: held by the batch's pass or by one step. */
	pthread_mutex_t		 pool_mu;
	/* The steps of every session ready at once, in one pass. */
	struct batch		*batch;
	struct node_ledger	*ledger;
	uint8_t			 node_key[IDENTITY_PK_LEN];
	int			 has_key;
	struct node_session	*sessions;
	uint32_t		 n_sessions;
	uint64_t		 reserved_tokens;	/* sum of max_length */
	uint32_t		 in_flight;
	uint64_t		 tokens_processed;
	uint64_t		 steps;
	double			 compute_seconds;	/* in the forward pass */
	struct rate		 token_rate;	/* tokens processed, per second */
	uint64_t		 errors;	/* steps answered with an error */
	char			 last_error[160];
	double			 last_error_at;
	enum peer_state		 state;
	int			 drain_asked;
	/* Threads asleep in node_route_wait: a step's end wakes them. */
	unsigned		 step_waiters;
	int			 stopping;
	struct directory	*announcer;
	/* Push (under mu): idle connections to next hops, forwards running. */
	struct node_pusher	*pushers;
	uint32_t		 forwarding;	/* made, not yet sent or failed */
	/* The forwards waiting for a thread, and the threads that send
	 * them (kept a while between steps: waking one costs less). */
	struct node_forward	*fwd_queue;
	uint32_t		 fwd_queued;
	uint32_t		 fwd_threads;
	uint32_t		 fwd_idle;
	int			 fwd_quit;
	pthread_cond_t		 fwd_cond;
	struct node_push_stats	 push;
	struct node_rtt		 rtts[NODE_RTT_MAX];	/* under mu */
	size_t			 n_rtts;
	pthread_t		 housekeeper;
	int			 housekeeper_running;
};

/* The handlers' name for the one clock (util/clock.h). */
static double
node_now(void)
{
	return clock_now();
}

static void
node_log(struct node *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
node_log(struct node *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	logcb_vprintf(n->cfg.log, n->cfg.log_arg, fmt, ap);
	va_end(ap);
}

void
node_config_init(struct node_config *c)
{
	memset(c, 0, sizeof(*c));
	c->listen = "127.0.0.1:7400";
	c->max_sessions = 16;
	c->max_sessions_per_client = 8;
	c->max_context = 4096;
	c->session_timeout = 300;
	c->drain_timeout = 10;
	c->announce_interval = NODE_ANNOUNCE_INTERVAL;
	c->repack = 1;
	c->batch = 1;
	c->price = -1;
	c->credit_limit = 1e6;
	c->free_units = 1000000000;
	c->seed = 1;
}

char *
node_token_path(const char *data_dir, uint16_t port)
{
	return xasprintf("%s/node-%u.token", data_dir, port);
}

static void
node_session_free(struct node_session *s)
{
	kv_cache_free(s->kv);
	strbuf_release(&s->answer);
	free(s->push_addr);
	free(s);
}

/* Called with n->mu held. */
static struct node_session *
node_session_find(struct node *n, uint64_t id)
{
	struct node_session *s;

	for (s = n->sessions; s != NULL; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

/* Called with n->mu held; s must not be busy. */
static void
node_session_remove(struct node *n, struct node_session *s)
{
	struct node_session **pp;

	for (pp = &n->sessions; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			n->n_sessions--;
			n->reserved_tokens -= s->max_length;
			batch_forget(n->batch, s->kv);
			node_session_free(s);
			return;
		}
	}
}

/* Called with n->mu held. */
static void
node_record_locked(struct node *n, struct peer_record *r)
{
	uint64_t total;

	memset(r, 0, sizeof(*r));
	snprintf(r->peer_id, sizeof(r->peer_id), "%s",
	    n->peer_id != NULL ? n->peer_id : "");
	snprintf(r->addr, sizeof(r->addr), "%s", n->public_addr);
	snprintf(r->model_id, sizeof(r->model_id), "%s", n->model_id);
	r->block_begin = n->cfg.block_begin;
	r->block_end = n->cfg.block_end;
	r->throughput = n->throughput;
	r->load = n->cfg.max_sessions > 0 ? (double)n->n_sessions /
	    n->cfg.max_sessions : 1;
	if (r->load > 1)
		r->load = 1;
	r->free_sessions = n->cfg.max_sessions > n->n_sessions ?
	    n->cfg.max_sessions - n->n_sessions : 0;
	total = (uint64_t)n->cfg.max_sessions * n->cfg.max_context;
	r->free_cache_tokens = total > n->reserved_tokens ? total -
	    n->reserved_tokens : 0;
	r->state = n->state;
	snprintf(r->version, sizeof(r->version), "%s", NODE_VERSION);
	r->timestamp = (int64_t)time(NULL);
	r->price = n->ledger != NULL ? (double)node_ledger_price(n->ledger) /
	    1e6 : 0;
	if (n->cfg.seed && n->held != NULL)
		snprintf(r->held, sizeof(r->held), "%s", n->held);
}

int
node_seeding(const struct node *n)
{
	return n->cfg.seed;
}

void
node_set_held(struct node *n, const char *held)
{
	pthread_mutex_lock(&n->mu);
	free(n->held);
	n->held = held != NULL ? xstrdup(held) : NULL;
	pthread_mutex_unlock(&n->mu);
}

void
node_set_model_id(struct node *n, const char *id)
{
	pthread_mutex_lock(&n->mu);
	if (n->model_id[0] == '\0') {
		snprintf(n->model_id, sizeof(n->model_id), "%s", id);
		/* Announce now, not at the next round. */
		pthread_cond_broadcast(&n->cond);
	}
	pthread_mutex_unlock(&n->mu);
}

int
node_wait_model_id(struct node *n)
{
	int rc;

	pthread_mutex_lock(&n->mu);
	while (n->model_id[0] == '\0' && !n->drain_asked)
		pthread_cond_wait(&n->cond, &n->mu);
	rc = n->model_id[0] != '\0' ? 0 : -1;
	pthread_mutex_unlock(&n->mu);
	return rc;
}

void
node_get_record(struct node *n, struct peer_record *r)
{
	pthread_mutex_lock(&n->mu);
	node_record_locked(n, r);
	pthread_mutex_unlock(&n->mu);
}

static void
node_respond_json(struct http_response *resp, int status, json_t *o)
{
	char *s;

	s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) :
	    NULL;
	json_decref(o);
	if (s == NULL) {
		http_response_error(resp, 500, "internal", "cannot encode the "
		    "answer");
		return;
	}
	resp->status = status;
	resp->content_type = "application/json";
	resp->body = xstrdup(s);
	resp->len = strlen(s);
	free(s);
}

/*
 * What `swarm top` shows of a node besides its record: tokens per second
 * over the last 10 s and minute, steps waiting for the compute pool (one
 * computes at a time), and the steps it answered with an error. Called
 * with n->mu held.
 */
static void
node_info_rates(struct node *n, json_t *st, double now)
{
	json_object_set_new(st, "tokens_per_second_10s",
	    json_real(rate_per_second(&n->token_rate, now, 10)));
	json_object_set_new(st, "tokens_per_second_60s",
	    json_real(rate_per_second(&n->token_rate, now, 60)));
	json_object_set_new(st, "queue", json_integer(n->in_flight > 1 ?
	    n->in_flight - 1 : 0));
	json_object_set_new(st, "errors", json_integer((json_int_t)n->errors));
	if (n->errors > 0) {
		json_object_set_new(st, "last_error",
		    json_string(n->last_error));
		json_object_set_new(st, "last_error_age_seconds",
		    json_real(now - n->last_error_at));
	}
}

/* A step answered with an error: counted, and the last one kept. */
static void
node_note_error(struct node *n, const char *code)
{
	pthread_mutex_lock(&n->mu);
	n->errors++;
	snprintf(n->last_error, sizeof(n->last_error), "%s", code);
	n->last_error_at = node_now();
	pthread_mutex_unlock(&n->mu);
}

/*
 * GET /info: the record and the counters with every session; GET /status
 * (sessions 0): the same without the session list, what `swarm top` asks
 * every peer for every second.
 */
static void
node_handle_info(struct node *n, struct http_response *resp, int sessions)
{
	struct peer_record r;
	json_t *o, *st, *list, *rtts;
	struct node_session *s;
	double now = node_now();
	size_t i;

	list = json_array();
	pthread_mutex_lock(&n->mu);
	node_record_locked(n, &r);
	for (s = n->sessions; s != NULL && sessions; s = s->next)
		json_array_append_new(list, json_pack("{s:I,s:I,s:I,s:I,s:f}",
		    "block_begin", (json_int_t)s->block_begin,
		    "block_end", (json_int_t)s->block_end,
		    "length", (json_int_t)s->kv->n_filled,
		    "max_length", (json_int_t)s->max_length,
		    "idle_seconds", now - s->last_used));
	st = json_pack("{s:f,s:I,s:I,s:I,s:I,s:I,s:f,s:I,s:i,s:I,s:I,s:o}",
	    "uptime_seconds", now - n->started,
	    "sessions", (json_int_t)n->n_sessions,
	    "max_sessions", (json_int_t)n->cfg.max_sessions,
	    "max_context", (json_int_t)n->cfg.max_context,
	    "tokens_processed", (json_int_t)n->tokens_processed,
	    "steps", (json_int_t)n->steps,
	    "compute_seconds", n->compute_seconds,
	    "steps_running", (json_int_t)n->in_flight,
	    "threads", pool_size(n->pool),
	    "n_layer", (json_int_t)n->model->hp.n_layer,
	    "n_embd", (json_int_t)n->model->hp.n_embd,
	    "session_list", list);
	if (!sessions)
		json_object_del(st, "session_list");
	node_info_rates(n, st, now);
	pthread_mutex_unlock(&n->mu);
	if (n->batch != NULL) {
		struct batch_stats bs;

		batch_stats(n->batch, &bs);
		json_object_set_new(st, "batch", json_pack("{s:I,s:I,s:I}",
		    "passes", (json_int_t)bs.steps, "rows",
		    (json_int_t)bs.rows, "max_sessions",
		    (json_int_t)bs.max_sessions));
	}
	json_object_set_new(st, "ledger", node_ledger_json(n->ledger));
	pthread_mutex_lock(&n->mu);
	rtts = json_object();
	for (i = 0; i < n->n_rtts; i++)
		json_object_set_new(rtts, n->rtts[i].addr,
		    json_real(n->rtts[i].rtt));
	json_object_set_new(st, "push", json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,"
	    "s:I,s:o}", "steps_from_client", (json_int_t)n->push.from_client,
	    "steps_from_peers", (json_int_t)n->push.from_peer,
	    "forwarded", (json_int_t)n->push.forwarded,
	    "forward_failed", (json_int_t)n->push.forward_failed,
	    "waits", (json_int_t)n->push.waits,
	    "routes", (json_int_t)n->push.routes,
	    "relay_refused", (json_int_t)n->push.refused,
	    "rtt", rtts));
	json_object_set_new(st, "channels", json_pack("{s:I,s:I}", "open",
	    (json_int_t)http_server_channels(n->http), "steps",
	    (json_int_t)n->push.on_channels));
	pthread_mutex_unlock(&n->mu);
	o = json_pack("{s:i,s:o,s:o}", "protocol", PROTO_VERSION,
	    "record", record_to_json(&r), "status", st);
	node_respond_json(resp, 200, o);
}

static uint64_t
node_random_id(void)
{
	uint64_t id = 0;

	while (id == 0) {
		if (getrandom(&id, sizeof(id), 0) != sizeof(id))
			id = (uint64_t)(node_now() * 1e9) ^ (uint64_t)getpid();
	}
	return id;
}

static uint32_t
node_client_sessions(const struct node *n, const char *client)
{
	const struct node_session *s;
	uint32_t k = 0;

	for (s = n->sessions; s != NULL; s = s->next)
		k += strcmp(s->client, client) == 0;
	return k;
}

/*
 * Who opens the session: a client signs (client_key, timestamp and
 * signature, hex, in the open request) the session's terms as
 * proto_session_terms() writes them, with its Ed25519 key; the client is
 * then that key's peer id. A request that signs nothing is from the
 * anonymous client ("").  A bad or stale signature is refused (401).
 */
static int
node_open_client(json_t *o, const char *model_id, uint64_t a, uint64_t b,
    uint64_t len, char client[PEER_ID_LEN + 1], uint8_t pk[IDENTITY_PK_LEN],
    struct http_response *resp)
{
	json_t *k = json_object_get(o, "client_key");
	json_t *t = json_object_get(o, "timestamp");
	json_t *g = json_object_get(o, "signature");
	uint8_t sig[IDENTITY_SIG_LEN];
	int64_t now = (int64_t)time(NULL), ts;
	char *terms;
	int rc;

	*client = '\0';
	if (k == NULL && t == NULL && g == NULL)
		return 0;
	if (!json_is_string(k) || !json_is_integer(t) || !json_is_string(g) ||
	    hex_decode(json_string_value(k), pk, IDENTITY_PK_LEN) != 0 ||
	    hex_decode(json_string_value(g), sig, sizeof(sig)) != 0) {
		http_response_error(resp, 400, "malformed", "open: client_key, "
		    "timestamp and signature go together, in hex");
		return -1;
	}
	ts = json_integer_value(t);
	if (ts < now - NODE_SIGNATURE_SKEW || ts > now + NODE_SIGNATURE_SKEW) {
		http_response_error(resp, 401, "stale_signature", "open: the "
		    "signature's time is %lld s from this node's",
		    (long long)(ts - now));
		return -1;
	}
	terms = proto_session_terms(model_id, (uint32_t)a, (uint32_t)b,
	    (uint32_t)len, ts);
	rc = identity_verify(pk, terms, strlen(terms), sig);
	free(terms);
	if (rc != 0) {
		http_response_error(resp, 401, "bad_signature", "open: the "
		    "signature does not verify");
		return -1;
	}
	identity_peer_id(pk, client);
	return 0;
}

static void
node_handle_open(struct node *n, const struct http_request *req,
    struct http_response *resp)
{
	json_t *o, *v;
	json_error_t jerr;
	const char *model_id;
	uint64_t a, b, len;
	struct node_session *s;
	struct kv_cache *kv;
	char *cause = NULL, idstr[17], client[PEER_ID_LEN + 1];
	char key_hex[2 * IDENTITY_PK_LEN + 1], served[MODEL_ID_MAX];
	uint8_t pk[IDENTITY_PK_LEN];

	if ((o = json_loadb(req->body, req->body_len, 0, &jerr)) == NULL) {
		http_response_error(resp, 400, "malformed", "open: %s",
		    jerr.text);
		return;
	}
	v = json_object_get(o, "model_id");
	model_id = json_is_string(v) ? json_string_value(v) : NULL;
	if (model_id == NULL || !json_is_integer(json_object_get(o,
	    "block_begin")) || !json_is_integer(json_object_get(o,
	    "block_end")) || !json_is_integer(json_object_get(o,
	    "max_length"))) {
		http_response_error(resp, 400, "malformed", "open: needs "
		    "model_id, block_begin, block_end and max_length");
		goto out;
	}
	a = (uint64_t)json_integer_value(json_object_get(o, "block_begin"));
	b = (uint64_t)json_integer_value(json_object_get(o, "block_end"));
	len = (uint64_t)json_integer_value(json_object_get(o, "max_length"));
	/* Set once, under the lock, when the weights are hashed. */
	pthread_mutex_lock(&n->mu);
	snprintf(served, sizeof(served), "%s", n->model_id);
	pthread_mutex_unlock(&n->mu);
	if (served[0] == '\0') {
		http_response_error(resp, 503, "hashing", "this node is still "
		    "hashing its weights (the id commits to them)");
		goto out;
	}
	if (strcmp(model_id, served) != 0) {
		http_response_error(resp, 404, "wrong_model", "this node "
		    "serves '%s', not '%s'", served, model_id);
		goto out;
	}
	if (a >= b || a < n->cfg.block_begin || b > n->cfg.block_end) {
		http_response_error(resp, 400, "wrong_span", "blocks %lld:%lld "
		    "are not within the served %u:%u",
		    (long long)json_integer_value(json_object_get(o,
		    "block_begin")), (long long)json_integer_value(
		    json_object_get(o, "block_end")), n->cfg.block_begin,
		    n->cfg.block_end);
		goto out;
	}
	if (len == 0 || len > (1u << 20)) {
		http_response_error(resp, 400, "malformed", "open: max_length "
		    "out of range");
		goto out;
	}
	if (len > n->cfg.max_context) {
		http_response_error(resp, 503, "context", "max_length %llu is "
		    "over this node's limit of %u", (unsigned long long)len,
		    n->cfg.max_context);
		goto out;
	}
	if (node_open_client(o, model_id, a, b, len, client, pk, resp) != 0)
		goto out;
	if (node_ledger_admit(n->ledger, client, &cause) != 0) {
		node_log(n, "session for %.16s refused: %s", *client != '\0' ?
		    client : "an unsigned client", cause);
		http_response_error(resp, 402, "payment_required", "%s", cause);
		goto out;
	}

	pthread_mutex_lock(&n->mu);
	if (n->state == PEER_STATE_DRAINING) {
		pthread_mutex_unlock(&n->mu);
		http_response_error(resp, 503, "draining", "the node is "
		    "draining");
		goto out;
	}
	if (n->n_sessions >= n->cfg.max_sessions) {
		pthread_mutex_unlock(&n->mu);
		http_response_error(resp, 503, "full", "at the session limit "
		    "(%u)", n->cfg.max_sessions);
		goto out;
	}
	if (node_client_sessions(n, client) >= n->cfg.max_sessions_per_client) {
		pthread_mutex_unlock(&n->mu);
		http_response_error(resp, 429, "client_limit", "%s holds %u "
		    "sessions, the most one client may", *client != '\0' ?
		    "this client" : "unsigned clients together",
		    n->cfg.max_sessions_per_client);
		goto out;
	}
	/* Reserve before allocating so that racing opens cannot overshoot. */
	n->n_sessions++;
	n->reserved_tokens += len;
	pthread_mutex_unlock(&n->mu);

	kv = kv_cache_new(n->model, (uint32_t)a, (uint32_t)b, (uint32_t)len,
	    &cause);
	pthread_mutex_lock(&n->mu);
	if (kv == NULL) {
		n->n_sessions--;
		n->reserved_tokens -= len;
		pthread_mutex_unlock(&n->mu);
		http_response_error(resp, 503, "memory", "%s", cause);
		free(cause);
		cause = NULL;
		goto out;
	}
	s = xcalloc(1, sizeof(*s));
	do
		s->id = node_random_id();
	while (node_session_find(n, s->id) != NULL);
	s->block_begin = (uint32_t)a;
	s->block_end = (uint32_t)b;
	s->max_length = (uint32_t)len;
	s->kv = kv;
	memcpy(s->client, client, sizeof(s->client));
	if (*client != '\0') {
		memcpy(s->client_pk, pk, sizeof(s->client_pk));
		s->has_client_pk = 1;
	}
	snprintf(idstr, sizeof(idstr), "%016llx", (unsigned long long)s->id);
	node_ledger_account_init(&s->acct, idstr, *client != '\0' ? pk : NULL,
	    n->node_key, n->model_id, (uint32_t)a, (uint32_t)b,
	    node_ledger_price(n->ledger));
	s->last_used = node_now();
	strbuf_init(&s->answer);
	s->next = n->sessions;
	n->sessions = s;
	pthread_mutex_unlock(&n->mu);

	hex_encode(n->node_key, sizeof(n->node_key), key_hex);
	/* What a receipt for this session is made out to. */
	node_respond_json(resp, 200, json_pack("{s:s,s:I,s:I,s:I,s:I,s:s?,"
	    "s:I}", "session_id", idstr, "block_begin", (json_int_t)a,
	    "block_end", (json_int_t)b, "max_length", (json_int_t)len, "width",
	    (json_int_t)n->model->hp.n_embd, "node_key", n->has_key ? key_hex :
	    NULL, "price", (json_int_t)node_ledger_price(n->ledger)));
out:
	free(cause);
	json_decref(o);
}

static int
node_parse_session_id(const char *s, size_t len, uint64_t *id)
{
	char buf[17];
	const char *p;

	if (len != 16)
		return -1;
	for (p = s; p < s + len; p++)
		if (strchr("0123456789abcdef", *p) == NULL || *p == '\0')
			return -1;
	memcpy(buf, s, 16);
	buf[16] = '\0';
	*id = strtoull(buf, NULL, 16);
	return *id == 0 ? -1 : 0;
}

/*
 * The client's credit, then the step's receipt (for the steps before it);
 * -1 after answering 402. A refused step's receipt is not taken, so that
 * the client, which counts only what was answered 200, keeps the same
 * account. A retried step's receipt is the one already taken.
 */
static int
node_step_account(struct node *n, struct node_session *s,
    const struct http_request *req, struct http_response *resp)
{
	const char *h = http_request_header(req, RECEIPT_HEADER);
	char *cause = NULL;

	if (node_ledger_admit(n->ledger, s->client, &cause) != 0) {
		node_log(n, "session %s: %s", s->acct.last.session, cause);
		http_response_error(resp, 402, "payment_required", "%s", cause);
		free(cause);
		return -1;
	}
	if (h != NULL && node_ledger_receipt(n->ledger, &s->acct, h,
	    &cause) != 0) {
		http_response_error(resp, 402, "bad_receipt", "%s", cause);
		free(cause);
		return -1;
	}
	return 0;
}

/*
 * Push: a forward of one step's output to the next hop, made by the step's
 * handler and sent by a thread of its own, so that the handler answers its
 * caller at once.
 */
struct node_forward {
	struct node	*node;
	char		*addr;
	char		*path;
	uint64_t	 step;		/* in the next session */
	struct strbuf	 frame;
	struct node_forward *next;	/* in the node's queue */
};

/* Seconds a forwarding thread waits for the next forward before it ends. */
#define NODE_FORWARDER_LINGER	5

/* Seconds a forward may take: the next hop computes before it answers. */
#define NODE_FORWARD_TIMEOUT	30.0
/* Marks a step pushed by a peer: it is answered without the rows. */
#define NODE_PUSHED_HEADER	"X-Swarm-Pushed-By"

/* An idle connection to addr, or a new one (*fresh set). */
static struct http_client *
node_pusher_take(struct node *n, const char *addr, int *fresh)
{
	struct node_pusher **pp, *p;
	struct http_client *hc = NULL;

	pthread_mutex_lock(&n->mu);
	for (pp = &n->pushers; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp(http_client_addr((*pp)->http), addr) == 0) {
			p = *pp;
			*pp = p->next;
			hc = p->http;
			free(p);
			break;
		}
	}
	pthread_mutex_unlock(&n->mu);
	*fresh = hc == NULL;
	if (hc == NULL && (hc = http_client_new(addr, 5)) != NULL)
		http_client_channel(hc, PROTO_CHANNEL_PATH);
	return hc;
}

static void
node_pusher_give(struct node *n, struct http_client *hc)
{
	struct node_pusher *p = xcalloc(1, sizeof(*p));

	p->http = hc;
	pthread_mutex_lock(&n->mu);
	p->next = n->pushers;
	n->pushers = p;
	pthread_mutex_unlock(&n->mu);
}

/* A connection made elsewhere (a route's check): kept for the forwards
 * unless one to the same address is idle already. */
static void
node_pusher_offer(struct node *n, struct http_client *hc)
{
	struct node_pusher *p;

	pthread_mutex_lock(&n->mu);
	for (p = n->pushers; p != NULL; p = p->next)
		if (strcmp(http_client_addr(p->http), http_client_addr(hc)) ==
		    0)
			break;
	pthread_mutex_unlock(&n->mu);
	if (p == NULL)
		node_pusher_give(n, hc);
	else
		http_client_free(hc);
}

/* A sample of the round trip to addr, seconds (NODE_RTT_GAIN). */
static void
node_rtt_note(struct node *n, const char *addr, double sample)
{
	struct node_rtt *e = NULL;
	size_t i;

	if (!(sample >= 0) || sample > NODE_FORWARD_TIMEOUT ||
	    strlen(addr) >= sizeof(e->addr))
		return;
	pthread_mutex_lock(&n->mu);
	for (i = 0; i < n->n_rtts; i++)
		if (strcmp(n->rtts[i].addr, addr) == 0) {
			e = &n->rtts[i];
			e->rtt += NODE_RTT_GAIN * (sample - e->rtt);
			break;
		}
	if (e == NULL) {
		if (n->n_rtts < NODE_RTT_MAX)
			e = &n->rtts[n->n_rtts++];
		else
			for (e = &n->rtts[0], i = 1; i < n->n_rtts; i++)
				if (n->rtts[i].at < e->at)
					e = &n->rtts[i];
		snprintf(e->addr, sizeof(e->addr), "%s", addr);
		e->rtt = sample;
	}
	e->at = node_now();
	pthread_mutex_unlock(&n->mu);
}

/*
 * The seconds a forward's answer says the next hop spent on the step
 * ({"pushed": K, "compute_seconds": S}); -1: it does not say.
 */
static double
node_pushed_compute(const struct strbuf *answer)
{
	json_t *o, *v;
	double s = -1;

	if ((o = json_loadb(answer->buf, answer->len, 0, NULL)) == NULL)
		return -1;
	v = json_object_get(o, "compute_seconds");
	if (json_is_number(v) && json_number_value(v) >= 0)
		s = json_number_value(v);
	json_decref(o);
	return s;
}

static void *
node_forward_run(void *arg)
{
	struct node_forward *f = arg;
	struct node *n = f->node;
	struct strbuf answer = STRBUF_INIT;
	struct http_client *hc;
	char *err = NULL;
	long status = 0;
	double t0, compute;
	int ok = 0, fresh;

	if ((hc = node_pusher_take(n, f->addr, &fresh)) == NULL)
		err = xstrdup("cannot make a connection");
	else {
		http_client_set_header(hc, NODE_PUSHED_HEADER,
		    n->public_addr);
		t0 = node_now();
		if (http_client_request_channel(hc, "POST", f->path, NULL,
		    f->frame.buf, f->frame.len, PROTO_CONTENT_TYPE,
		    NODE_FORWARD_TIMEOUT, 1 << 16, &status, &answer,
		    &err) == 0 && status == 200)
			ok = 1;
		t0 = node_now() - t0;
		/* On a connection made now the time holds its opening too. */
		if (ok && !fresh && f->frame.len <= NODE_RTT_SAMPLE_BYTES &&
		    (compute = node_pushed_compute(&answer)) >= 0 &&
		    t0 > compute)
			node_rtt_note(n, f->addr, t0 - compute);
		if (ok)
			node_pusher_give(n, hc);
		else
			http_client_free(hc);
	}
	if (!ok)
		node_log(n, "push to %s%s: %s", f->addr, f->path, err != NULL ?
		    err : answer.buf);
	pthread_mutex_lock(&n->mu);
	if (ok)
		n->push.forwarded++;
	else
		n->push.forward_failed++;
	n->forwarding--;
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->mu);
	free(err);
	strbuf_release(&answer);
	strbuf_release(&f->frame);
	free(f->addr);
	free(f->path);
	free(f);
	return NULL;
}

/* A forwarding thread: sends the queued forwards, one at a time. */
static void *
node_forwarder(void *arg)
{
	struct node *n = arg;
	struct node_forward *f;
	struct timespec ts;
	int rc;

	pthread_mutex_lock(&n->mu);
	for (;;) {
		rc = 0;
		while (n->fwd_queue == NULL && !n->fwd_quit && rc == 0) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += NODE_FORWARDER_LINGER;
			n->fwd_idle++;
			rc = pthread_cond_timedwait(&n->fwd_cond, &n->mu, &ts);
			n->fwd_idle--;
		}
		if ((f = n->fwd_queue) == NULL)
			break;		/* told to quit, or nothing came */
		n->fwd_queue = f->next;
		n->fwd_queued--;
		pthread_mutex_unlock(&n->mu);
		node_forward_run(f);
		pthread_mutex_lock(&n->mu);
	}
	n->fwd_threads--;
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->mu);
	return NULL;
}

/*
 * Called with n->mu held: the forward of a step's output, when the
 * session has a route (else NULL); node_forward_start sends it.
 */
static struct node_forward *
node_forward_new(struct node *n, struct node_session *s,
    const struct proto_step *st)
{
	struct node_forward *f;

	if (s->push_addr == NULL || !(st->flags & PROTO_FLAG_PUSH))
		return NULL;
	f = xcalloc(1, sizeof(*f));
	f->node = n;
	f->addr = xstrdup(s->push_addr);
	f->path = xasprintf("/sessions/%s/step", s->push_session);
	f->step = (uint64_t)((int64_t)st->step + s->push_delta);
	strbuf_init(&f->frame);
	n->forwarding++;
	return f;
}

/*
 * Encodes the rows and queues the forward for a forwarding thread: an
 * idle one, else a new one, so that no forward waits for another (each
 * waits for the next hop's computation).
 */
static void
node_forward_start(struct node_forward *f, const struct proto_step *st,
    const float *rows)
{
	struct node *n = f->node;
	struct node_forward **pp;
	struct proto_step fs = *st;
	pthread_attr_t attr;
	pthread_t t;
	int rc = 0;

	fs.step = f->step;
	fs.flags = PROTO_FLAG_PUSH;
	proto_step_encode(&fs, rows, &f->frame);
	pthread_mutex_lock(&n->mu);
	for (pp = &n->fwd_queue; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = f;
	n->fwd_queued++;
	if (n->fwd_queued > n->fwd_idle) {
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if ((rc = pthread_create(&t, &attr, node_forwarder, n)) == 0)
			n->fwd_threads++;
		pthread_attr_destroy(&attr);
	}
	pthread_cond_signal(&n->fwd_cond);
	if (rc == 0 || n->fwd_threads > 0) {
		pthread_mutex_unlock(&n->mu);
		return;
	}
	/* No thread to send it: take it back. */
	*pp = NULL;
	n->fwd_queued--;
	n->push.forward_failed++;
	n->forwarding--;
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->mu);
	strbuf_release(&f->frame);
	free(f->addr);
	free(f->path);
	free(f);
}

/*
 * The answer to a step pushed by a peer: the rows go on, not back. The
 * seconds the step waited for and spent in the forward pass let the peer
 * tell the link's round trip from its forward's time.
 */
static void
node_respond_pushed(struct http_response *resp, uint64_t step,
    double compute)
{
	node_respond_json(resp, 200, json_pack("{s:I,s:f}", "pushed",
	    (json_int_t)step, "compute_seconds", compute));
}

static void
node_handle_step(struct node *n, uint64_t id, const struct http_request *req,
    struct http_response *resp)
{
	struct proto_limits lim;
	struct proto_step st;
	struct node_session *s;
	float *hidden = NULL;
	int32_t *pos = NULL;
	char *cause = NULL;
	struct strbuf out = STRBUF_INIT;
	uint32_t i;
	double t0;
	struct node_forward *fwd;
	int rc, creditor, pushed;

	pthread_mutex_lock(&n->mu);
	if ((s = node_session_find(n, id)) == NULL) {
		pthread_mutex_unlock(&n->mu);
		http_response_error(resp, 404, "unknown_session", "no session "
		    "%016llx", (unsigned long long)id);
		return;
	}
	if (s->busy) {
		pthread_mutex_unlock(&n->mu);
		http_response_error(resp, 409, "busy", "a step of this session "
		    "is running");
		return;
	}
	lim.width = n->model->hp.n_embd;
	lim.max_tokens = s->max_length;
	lim.max_pos = s->max_length;
	s->busy = 1;
	n->in_flight++;
	st.step = s->next_step;		/* for a refusal, if it does not decode */
	pthread_mutex_unlock(&n->mu);
	pushed = http_request_header(req, NODE_PUSHED_HEADER) != NULL;

	if (proto_step_decode(req->body, req->body_len, &lim, &st, &hidden,
	    &cause) != 0) {
		http_response_error(resp, 400, "malformed", "%s", cause);
		node_note_error(n, "malformed step");
		goto done;
	}
	if (node_step_account(n, s, req, resp) != 0)
		goto done;
	if (st.step + 1 == s->next_step && s->answer.len > 0 && pushed) {
		/* The client stepped it itself already: nothing to do. */
		node_respond_pushed(resp, st.step, 0);
		goto done;
	}
	if (st.step + 1 == s->next_step && s->answer.len > 0) {
		/* A retry: the same answer, the cache untouched. */
		resp->status = 200;
		resp->content_type = PROTO_CONTENT_TYPE;
		resp->body = xmalloc(s->answer.len);
		memcpy(resp->body, s->answer.buf, s->answer.len);
		resp->len = s->answer.len;
		goto done;
	}
	if (st.step != s->next_step) {
		http_response_error(resp, 409, "wrong_step", "step %llu, "
		    "expected %llu", (unsigned long long)st.step,
		    (unsigned long long)s->next_step);
		node_note_error(n, "step out of order");
		goto done;
	}
	if (st.pos0 != s->kv->n_filled) {
		http_response_error(resp, 409, "wrong_position", "position %u, "
		    "expected %u", st.pos0, s->kv->n_filled);
		node_note_error(n, "step at the wrong position");
		goto done;
	}
	pos = xreallocarray(NULL, st.n_tokens, sizeof(*pos));
	for (i = 0; i < st.n_tokens; i++)
		pos[i] = (int32_t)(st.pos0 + i);
	creditor = node_ledger_creditor(n->ledger, s->client);
	t0 = node_now();
	if (n->batch != NULL && n->cfg.step_delay <= 0)
		rc = batch_eval_hidden(n->batch, s->kv, s->block_begin,
		    s->block_end, hidden, (int)st.n_tokens, (int32_t)st.pos0,
		    creditor, &cause);
	else {
		/* one step at a time, by merit (tests slow steps down) */
		node_queue_enter(&n->compute, creditor);
		if (n->cfg.step_delay > 0)
			clock_sleep(n->cfg.step_delay);
		pthread_mutex_lock(&n->pool_mu);
		rc = model_forward_blocks(n->model, n->pool, s->block_begin,
		    s->block_end, hidden, pos, (int)st.n_tokens, s->kv,
		    &cause);
		/* The next step is a round trip away: free the cores. */
		pool_idle(n->pool);
		pthread_mutex_unlock(&n->pool_mu);
		node_queue_leave(&n->compute);
	}
	t0 = node_now() - t0;
	if (rc != 0) {
		http_response_error(resp, 500, "compute", "%s", cause);
		node_note_error(n, "compute failed");
		goto done;
	}
	proto_step_encode(&st, hidden, &out);
	strbuf_reset(&s->answer);
	strbuf_add(&s->answer, out.buf, out.len);
	s->next_step++;
	node_ledger_computed(n->ledger, &s->acct, st.n_tokens);
	if (pushed)
		node_respond_pushed(resp, st.step, t0);
	else {
		resp->status = 200;
		resp->content_type = PROTO_CONTENT_TYPE;
		resp->body = strbuf_detach(&out, &resp->len);
	}
	pthread_mutex_lock(&n->mu);
	if (pushed)
		n->push.from_peer++;
	else
		n->push.from_client++;
	if (req->channel)
		n->push.on_channels++;
	fwd = node_forward_new(n, s, &st);
	n->tokens_processed += st.n_tokens;
	rate_add(&n->token_rate, node_now(), st.n_tokens);
	n->steps++;
	n->compute_seconds += t0;
	/* Only work keeps a session: failed steps and retries do not. */
	s->last_used = node_now();
	pthread_mutex_unlock(&n->mu);
	if (fwd != NULL)
		node_forward_start(fwd, &st, hidden);
done:
	pthread_mutex_lock(&n->mu);
	if (pushed && resp->status != 200) {
		s->push_refused = resp->status;
		s->push_refused_step = st.step;
	}
	s->busy = 0;
	n->in_flight--;
	/* Only a drain and the clients waiting for pushed answers wait for
	 * a step's end: no other thread is woken by every step (each
	 * wake-up costs the cores a switch). */
	if (n->drain_asked || n->step_waiters > 0)
		pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->mu);
	strbuf_release(&out);
	free(cause);
	free(hidden);
	free(pos);
}

/* The longest a client may wait for a pushed step's answer, seconds. */
#define NODE_WAIT_MAX		60.0
#define NODE_WAIT_HEADER	"X-Swarm-Wait"

/*
 * GET /sessions/ID/steps/K: the answer to step K once it is computed
 * (pushed by a peer), waiting at most X-Swarm-Wait seconds; the last hop
 * of a pushed chain answers its client this way. A receipt may ride on
 * it, as on a step.
 */
static void
node_handle_wait(struct node *n, uint64_t id, const char *step_str,
    const struct http_request *req, struct http_response *resp)
{
	const char *h = http_request_header(req, RECEIPT_HEADER);
	const char *errstr = NULL;
	struct node_session *s;
	struct timespec ts;
	double wait = 10, deadline, t;
	uint64_t k;
	char *cause = NULL;

	k = parse_uint(step_str, 0, UINT64_MAX - 1, &errstr);
	if (errstr != NULL) {
		http_response_error(resp, 400, "malformed", "step '%.32s' is "
		    "%s", step_str, errstr);
		return;
	}
	if ((step_str = http_request_header(req, NODE_WAIT_HEADER)) != NULL) {
		wait = parse_double(step_str, 0, NODE_WAIT_MAX, &errstr);
		if (errstr != NULL) {
			http_response_error(resp, 400, "malformed", "%s: "
			    "'%.32s' is %s", NODE_WAIT_HEADER, step_str,
			    errstr);
			return;
		}
	}
	deadline = node_now() + wait;
	pthread_mutex_lock(&n->mu);
	if ((s = node_session_find(n, id)) != NULL && h != NULL &&
	    node_ledger_receipt(n->ledger, &s->acct, h, &cause) != 0) {
		pthread_mutex_unlock(&n->mu);
		http_response_error(resp, 402, "bad_receipt", "%s", cause);
		free(cause);
		return;
	}
	for (;;) {
		if ((s = node_session_find(n, id)) == NULL) {
			pthread_mutex_unlock(&n->mu);
			http_response_error(resp, 404, "unknown_session", "no "
			    "session %016llx", (unsigned long long)id);
			return;
		}
		if (!s->busy && s->next_step == k + 1 && s->answer.len > 0)
			break;
		if (s->push_refused != 0 && s->push_refused_step == k &&
		    s->next_step == k) {
			pthread_mutex_unlock(&n->mu);
			http_response_error(resp, 502, "push_refused", "step %llu "
			    "pushed here was refused with HTTP %d",
			    (unsigned long long)k, s->push_refused);
			return;
		}
		if (s->next_step > k + 1 || (!s->busy && s->next_step ==
		    k + 1)) {
			pthread_mutex_unlock(&n->mu);
			http_response_error(resp, 409, "wrong_step", "step %llu "
			    "is past (next %llu)", (unsigned long long)k,
			    (unsigned long long)s->next_step);
			return;
		}
		if ((t = node_now()) >= deadline || n->stopping ||
		    http_request_gone(req)) {
			pthread_mutex_unlock(&n->mu);
			http_response_error(resp, 504, "not_yet", "step %llu "
			    "not computed within %.3f s", (unsigned long long)k,
			    wait);
			return;
		}
		/* Woken by the step's end; now and then to see the client. */
		t = deadline - t > 0.5 ? 0.5 : deadline - t;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)(t * 1e9);
		while (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		n->step_waiters++;
		pthread_cond_timedwait(&n->cond, &n->mu, &ts);
		n->step_waiters--;
	}
	n->push.waits++;
	resp->status = 200;
	resp->content_type = PROTO_CONTENT_TYPE;
	resp->body = xmalloc(s->answer.len);
	memcpy(resp->body, s->answer.buf, s->answer.len);
	resp->len = s->answer.len;
	pthread_mutex_unlock(&n->mu);
}

/*
 * Is addr a peer of this model that serves block b? Its /info answers;
 * anything else is an address the node will not forward to. Then, on the
 * same connection, GET /status is the first sample of the round trip to
 * it (node_rtt_note), and the connection is kept for the forwards.
 */
static int
node_route_check(struct node *n, const char *addr, uint32_t b, char **cause)
{
	struct strbuf body = STRBUF_INIT;
	struct http_client *hc;
	struct peer_record r;
	json_t *o = NULL;
	char *host = NULL, *err = NULL;
	uint16_t port;
	long status;
	double t0;
	int rc = -1;

	if (proto_parse_addr(addr, &host, &port, cause) != 0)
		return -1;
	free(host);
	if ((hc = http_client_new(addr, 2)) == NULL) {
		set_cause(cause, "cannot make a connection to '%s'", addr);
		goto out;
	}
	/* kept for the forwards, which go on a channel */
	http_client_channel(hc, PROTO_CHANNEL_PATH);
	if (http_client_request(hc, "GET", "/info", NULL, NULL, 0, NULL, 2,
	    1 << 20, &status, &body, &err) != 0) {
		set_cause(cause, "%s", err);
		goto out;
	}
	if (status != 200 || (o = json_loadb(body.buf, body.len, 0,
	    NULL)) == NULL || record_from_json(json_object_get(o, "record"),
	    &r, NULL) != 0) {
		set_cause(cause, "'%s' is not a swarm node", addr);
		goto out;
	}
	if (strcmp(r.model_id, n->model_id) != 0) {
		set_cause(cause, "'%s' serves another model", addr);
		goto out;
	}
	if (b < r.block_begin || b >= r.block_end) {
		set_cause(cause, "'%s' serves blocks %u:%u, not block %u", addr,
		    r.block_begin, r.block_end, b);
		goto out;
	}
	rc = 0;
	strbuf_reset(&body);
	t0 = node_now();
	if (http_client_request(hc, "GET", "/status", NULL, NULL, 0, NULL, 2,
	    1 << 20, &status, &body, &err) == 0 && status == 200) {
		node_rtt_note(n, addr, node_now() - t0);
		node_pusher_offer(n, hc);
		hc = NULL;
	}
out:
	json_decref(o);
	http_client_free(hc);
	strbuf_release(&body);
	free(err);
	return rc;
}

static void
node_refuse_relay(struct node *n, struct http_response *resp, const char *why)
{
	pthread_mutex_lock(&n->mu);
	n->push.refused++;
	pthread_mutex_unlock(&n->mu);
	node_log(n, "route refused: %s", why);
	http_response_error(resp, 403, "relay_refused", "route refused: %s",
	    why);
}

/*
 * POST /sessions/ID/route: where the outputs of the session's pushed
 * steps go. The client that opened the session signs the route, and the
 * next hop must be a peer of this model serving the block after the
 * session's span: the node is nobody's open relay.
 */
static void
node_handle_route(struct node *n, uint64_t id, const struct http_request *req,
    struct http_response *resp)
{
	json_t *o, *next, *nsess, *delta, *seq, *sig;
	uint8_t pk[IDENTITY_PK_LEN], sigbin[IDENTITY_SIG_LEN];
	struct node_session *s;
	char idstr[17], *terms, *cause = NULL;
	uint64_t last_seq;
	uint32_t end;
	int rc;

	if ((o = json_loadb(req->body, req->body_len, 0, NULL)) == NULL) {
		http_response_error(resp, 400, "malformed", "route: not JSON");
		return;
	}
	next = json_object_get(o, "next");
	nsess = json_object_get(o, "next_session");
	delta = json_object_get(o, "step_delta");
	seq = json_object_get(o, "seq");
	sig = json_object_get(o, "signature");
	if (!json_is_string(next) || json_string_length(next) == 0 ||
	    json_string_length(next) > 255 || !json_is_string(nsess) ||
	    node_parse_session_id(json_string_value(nsess),
	    json_string_length(nsess), &(uint64_t){ 0 }) != 0 ||
	    !json_is_integer(delta) || json_integer_value(delta) <
	    -((json_int_t)1 << 40) || json_integer_value(delta) >
	    (json_int_t)1 << 40 || !json_is_integer(seq) ||
	    json_integer_value(seq) <= 0 || !json_is_string(sig) ||
	    hex_decode(json_string_value(sig), sigbin, sizeof(sigbin)) != 0) {
		http_response_error(resp, 400, "malformed", "route: needs next "
		    "(host:port), next_session, step_delta, seq and signature");
		goto out;
	}
	pthread_mutex_lock(&n->mu);
	if ((s = node_session_find(n, id)) == NULL) {
		pthread_mutex_unlock(&n->mu);
		http_response_error(resp, 404, "unknown_session", "no session "
		    "%016llx", (unsigned long long)id);
		goto out;
	}
	rc = s->has_client_pk;
	memcpy(pk, s->client_pk, sizeof(pk));
	last_seq = s->route_seq;
	end = s->block_end;
	pthread_mutex_unlock(&n->mu);
	if (!rc) {
		node_refuse_relay(n, resp, "the session is not signed by a "
		    "client");
		goto out;
	}
	snprintf(idstr, sizeof(idstr), "%016llx", (unsigned long long)id);
	terms = proto_route_terms(n->model_id, idstr, json_string_value(next),
	    json_string_value(nsess), (int64_t)json_integer_value(delta),
	    (uint64_t)json_integer_value(seq));
	rc = identity_verify(pk, terms, strlen(terms), sigbin);
	free(terms);
	if (rc != 0) {
		node_refuse_relay(n, resp, "the session's client did not sign "
		    "it");
		goto out;
	}
	if ((uint64_t)json_integer_value(seq) <= last_seq) {
		http_response_error(resp, 409, "stale_route", "route %lld, "
		    "the last was %llu", (long long)json_integer_value(seq),
		    (unsigned long long)last_seq);
		goto out;
	}
	if (node_route_check(n, json_string_value(next), end, &cause) != 0) {
		node_refuse_relay(n, resp, cause);
		goto out;
	}
	pthread_mutex_lock(&n->mu);
	if ((s = node_session_find(n, id)) != NULL) {
		free(s->push_addr);
		s->push_addr = xstrdup(json_string_value(next));
		snprintf(s->push_session, sizeof(s->push_session), "%s",
		    json_string_value(nsess));
		s->push_delta = (int64_t)json_integer_value(delta);
		s->route_seq = (uint64_t)json_integer_value(seq);
		n->push.routes++;
	}
	pthread_mutex_unlock(&n->mu);
	if (s == NULL)
		http_response_error(resp, 404, "unknown_session", "no session "
		    "%016llx", (unsigned long long)id);
	else
		node_respond_json(resp, 200, json_pack("{s:s}", "next",
		    json_string_value(next)));
out:
	free(cause);
	json_decref(o);
}

static void
node_handle_close(struct node *n, uint64_t id, const struct http_request *req,
    struct http_response *resp)
{
	const char *h = http_request_header(req, RECEIPT_HEADER);
	struct node_session *s;
	char *cause = NULL;
	int paid = 1;

	pthread_mutex_lock(&n->mu);
	if ((s = node_session_find(n, id)) == NULL) {
		pthread_mutex_unlock(&n->mu);
		http_response_error(resp, 404, "unknown_session", "no session "
		    "%016llx", (unsigned long long)id);
		return;
	}
	if (s->busy) {
		pthread_mutex_unlock(&n->mu);
		http_response_error(resp, 409, "busy", "a step of this session "
		    "is running");
		return;
	}
	/* The last receipt comes with the close; a bad one is counted, and
	 * the session closed all the same. */
	if (h != NULL && node_ledger_receipt(n->ledger, &s->acct, h,
	    &cause) != 0) {
		paid = 0;
		free(cause);
	}
	node_session_remove(n, s);
	pthread_mutex_unlock(&n->mu);
	node_respond_json(resp, 200, json_pack("{s:b,s:b}", "closed", 1,
	    "receipt_taken", paid));
}

static void
node_handle_leave(struct node *n, const struct http_request *req,
    struct http_response *resp)
{
	const char *token = http_request_header(req, "X-Swarm-Token");

	if (!req->loopback || n->token == NULL) {
		http_response_error(resp, 403, "forbidden", "control is for "
		    "loopback clients only");
		return;
	}
	if (token == NULL || !http_key_equal(token, n->token)) {
		http_response_error(resp, 403, "forbidden", "wrong control "
		    "token");
		return;
	}
	node_drain(n);
	node_respond_json(resp, 202, json_pack("{s:s}", "state", "draining"));
}

/* --- the routes ----------------------------------------------------------- */

/* Bodies of the JSON control messages; a step is sized by its session. */
#define NODE_MAX_CONTROL_BODY	(64u << 10)

static void
node_route_info(void *arg, const struct http_request *req,
    struct http_response *resp)
{
	node_handle_info(arg, resp, 1);
}

static void
node_route_status(void *arg, const struct http_request *req,
    struct http_response *resp)
{
	node_handle_info(arg, resp, 0);
}

static void
node_route_open(void *arg, const struct http_request *req,
    struct http_response *resp)
{
	node_handle_open(arg, req, resp);
}

static void
node_route_leave(void *arg, const struct http_request *req,
    struct http_response *resp)
{
	node_handle_leave(arg, req, resp);
}

/* The session id of /sessions/ID/...; -1 after answering 404. */
static int
node_route_session(const struct http_request *req, struct http_response *resp,
    uint64_t *id)
{
	if (node_parse_session_id(req->wild[0], strlen(req->wild[0]),
	    id) == 0)
		return 0;
	http_response_error(resp, 404, "unknown_session",
	    "malformed session id");
	return -1;
}

static void
node_route_close(void *arg, const struct http_request *req,
    struct http_response *resp)
{
	uint64_t id;

	if (node_route_session(req, resp, &id) == 0)
		node_handle_close(arg, id, req, resp);
}

static void
node_route_step(void *arg, const struct http_request *req,
    struct http_response *resp)
{
	uint64_t id;

	if (node_route_session(req, resp, &id) == 0)
		node_handle_step(arg, id, req, resp);
}

static void
node_route_wait(void *arg, const struct http_request *req,
    struct http_response *resp)
{
	uint64_t id;

	if (node_route_session(req, resp, &id) == 0)
		node_handle_wait(arg, id, req->wild[1], req, resp);
}

static void
node_route_route(void *arg, const struct http_request *req,
    struct http_response *resp)
{
	uint64_t id;

	if (node_route_session(req, resp, &id) == 0)
		node_handle_route(arg, id, req, resp);
}

/*
 * Before a step's body is read: the session must exist and the body fit
 * its largest frame (every position at once, in float32). Small sessions
 * get some room above that, so that a frame a little off is still read
 * and answered by the decoder, which says what is wrong with it.
 */
#define NODE_STEP_SLACK		((uint64_t)1 << 20)

static int
node_admit_step(void *arg, const struct http_request *req,
    uint64_t content_length, struct http_response *resp)
{
	struct node *n = arg;
	struct node_session *s;
	uint64_t id, max = 0;

	if (node_parse_session_id(req->wild[0], strlen(req->wild[0]),
	    &id) != 0) {
		http_response_error(resp, 404, "unknown_session",
		    "malformed session id");
		return -1;
	}
	pthread_mutex_lock(&n->mu);
	if ((s = node_session_find(n, id)) != NULL)
		max = PROTO_HEADER_SIZE + (uint64_t)s->max_length *
		    n->model->hp.n_embd * sizeof(float);
	pthread_mutex_unlock(&n->mu);
	if (max < NODE_STEP_SLACK)
		max = NODE_STEP_SLACK;
	if (s == NULL) {
		http_response_error(resp, 404, "unknown_session", "no session "
		    "%016llx", (unsigned long long)id);
		return -1;
	}
	if (content_length != UINT64_MAX && content_length > max) {
		http_response_error(resp, 413, "too_large", "a step of session "
		    "%016llx is at most %llu bytes", (unsigned long long)id,
		    (unsigned long long)max);
		return -1;
	}
	/* A step comes: the pool's workers wake while its body is read. */
	pool_wake(n->pool);
	return 0;
}

/*
 * A step waits for the compute pool: it runs on a thread of its own, or
 * on its channel's (the hot path: one wake-up each way).
 */
static const struct http_route node_routes[] = {
	{ "GET", "/info", node_route_info, 0, 0, NULL },
	{ "GET", "/status", node_route_status, 0, 0, NULL },
	{ "POST", "/sessions", node_route_open, NODE_MAX_CONTROL_BODY, 0,
	    NULL },
	{ "DELETE", "/sessions/*", node_route_close, 0, 0, NULL },
	{ "POST", "/sessions/*/step", node_route_step, PROTO_MAX_BODY,
	    HTTP_ROUTE_THREAD | HTTP_ROUTE_CHANNEL, node_admit_step },
	/* Both wait: for a step to be pushed, for the next hop's /info. */
	{ "GET", "/sessions/*/steps/*", node_route_wait, 0, HTTP_ROUTE_THREAD,
	    NULL },
	{ "POST", "/sessions/*/route", node_route_route, NODE_MAX_CONTROL_BODY,
	    HTTP_ROUTE_THREAD, NULL },
	{ "POST", "/control/leave", node_route_leave, NODE_MAX_CONTROL_BODY,
	    0, NULL },
};

/* Frees idle sessions and announces; sleeps between rounds. */
static void *
node_housekeeper(void *arg)
{
	struct node *n = arg;
	struct node_session *s, *next;
	struct peer_record r;
	struct timespec ts;
	double now, next_announce = 0;
	char *cause = NULL;

	pthread_mutex_lock(&n->mu);
	while (!n->stopping) {
		now = node_now();
		for (s = n->sessions; s != NULL; s = next) {
			next = s->next;
			if (!s->busy && now - s->last_used >
			    n->cfg.session_timeout) {
				node_log(n, "session %016llx idle for %.0f s: "
				    "freed", (unsigned long long)s->id,
				    now - s->last_used);
				node_session_remove(n, s);
			}
		}
		if (n->announcer != NULL && now >= next_announce &&
		    !n->drain_asked && n->model_id[0] != '\0') {
			node_record_locked(n, &r);
			pthread_mutex_unlock(&n->mu);
			if (n->announcer->ops->announce != NULL &&
			    n->announcer->ops->announce(n->announcer, &r,
			    &cause) != 0) {
				node_log(n, "announce: %s", cause);
				free(cause);
				cause = NULL;
			}
			pthread_mutex_lock(&n->mu);
			next_announce = now + n->cfg.announce_interval;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&n->cond, &n->mu, &ts);
	}
	pthread_mutex_unlock(&n->mu);
	return NULL;
}

/* Tokens per second through one block, from a few single-token steps. */
static int
node_measure(struct node *n, char **cause)
{
	const struct model_hparams *hp = &n->model->hp;
	uint32_t a = n->cfg.block_begin, b = n->cfg.block_end, i;
	const int steps = 8;
	struct kv_cache *kv;
	float *x;
	double t0, t;
	int32_t pos;
	int s, rc = -1;

	if ((kv = kv_cache_new(n->model, a, b, (uint32_t)steps + 1,
	    cause)) == NULL)
		return -1;
	x = xmalloc(hp->n_embd * sizeof(float));
	for (i = 0; i < hp->n_embd; i++)
		x[i] = sinf((float)i) * 0.1f;
	pos = 0;
	if (model_forward_blocks(n->model, n->pool, a, b, x, &pos, 1, kv,
	    cause) != 0)
		goto out;
	t0 = node_now();
	for (s = 1; s <= steps; s++) {
		pos = s;
		if (model_forward_blocks(n->model, n->pool, a, b, x, &pos, 1,
		    kv, cause) != 0)
			goto out;
	}
	/* A node slowed down for a test reports itself slow. */
	t = node_now() - t0 + steps * n->cfg.step_delay;
	if (t < 1e-9)
		t = 1e-9;
	n->throughput = steps * (double)(b - a) / t;
	pool_idle(n->pool);
	rc = 0;
out:
	free(x);
	kv_cache_free(kv);
	return rc;
}

/* Parameters of one block, from the shapes of its matrices. */
static uint64_t
node_block_params(const struct model_hparams *hp)
{
	uint64_t q = (uint64_t)hp->n_head * hp->head_dim;
	uint64_t kv = (uint64_t)hp->n_head_kv * hp->head_dim;

	return (uint64_t)hp->n_embd * (2 * q + 2 * kv) +
	    3 * (uint64_t)hp->n_embd * hp->n_ff;
}

static int
node_open_ledger(struct node *n, char **cause)
{
	struct node_ledger_config lc;

	memset(&lc, 0, sizeof(lc));
	if (n->cfg.node_key != NULL) {
		memcpy(n->node_key, n->cfg.node_key, sizeof(n->node_key));
		memcpy(lc.node_key, n->node_key, sizeof(lc.node_key));
		n->has_key = 1;
		/* Receipts are made out to a key: none, nothing to keep. */
		lc.path = n->cfg.ledger_path;
	}
	lc.price = n->cfg.price >= 0 ? (uint64_t)(n->cfg.price * 1e6 + 0.5) :
	    node_ledger_default_price(node_block_params(&n->model->hp));
	lc.credit_limit = n->cfg.credit_limit;
	lc.free_units = n->cfg.free_units;
	lc.log = n->cfg.log;
	lc.log_arg = n->cfg.log_arg;
	n->ledger = node_ledger_new(&lc, cause);
	return n->ledger != NULL ? 0 : -1;
}

static int
node_write_token(struct node *n, char **cause)
{
	uint8_t raw[32];
	size_t i;
	int fd;

	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		return set_cause(cause, "no randomness for the control token");
	n->token = xmalloc(2 * sizeof(raw) + 1);
	for (i = 0; i < sizeof(raw); i++)
		snprintf(n->token + 2 * i, 3, "%02x", raw[i]);
	n->token_path = node_token_path(n->data_dir, n->port);
	unlink(n->token_path);
	fd = open(n->token_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600);
	if (fd == -1 || write(fd, n->token, strlen(n->token)) !=
	    (ssize_t)strlen(n->token)) {
		set_cause(cause, "cannot write '%s': %s", n->token_path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		free(n->token_path);
		n->token_path = NULL;
		return -1;
	}
	close(fd);
	return 0;
}

struct node *
node_new(const struct node_config *cfg, char **cause)
{
	struct model_hparams hp;
	struct weights w;
	struct node *n;
	char *host = NULL;
	struct http_server_config hcfg;
	size_t n_base;
	uint16_t port;

	n = xcalloc(1, sizeof(*n));
	n->cfg = *cfg;
	n->held = cfg->held != NULL ? xstrdup(cfg->held) : NULL;
	n->model_path = xstrdup(cfg->model_path);
	n->peer_id = cfg->peer_id != NULL ? xstrdup(cfg->peer_id) : NULL;
	n->data_dir = cfg->data_dir != NULL ? xstrdup(cfg->data_dir) : NULL;
	n->cfg.model_path = n->cfg.peer_id = n->cfg.data_dir = NULL;
	n->cfg.listen = n->cfg.public_addr = NULL;
	n->state = PEER_STATE_JOINING;
	n->started = node_now();
	rate_init(&n->token_rate, n->started);
	pthread_mutex_init(&n->mu, NULL);
	pthread_cond_init(&n->cond, NULL);
	pthread_cond_init(&n->fwd_cond, NULL);
	node_queue_init(&n->compute);
	pthread_mutex_init(&n->pool_mu, NULL);

	if (cfg->max_sessions == 0) {
		set_cause(cause, "max sessions must be at least 1");
		goto fail;
	}
	if (proto_parse_addr(cfg->listen, &host, &port, cause) != 0)
		goto fail;
	if (weights_open(&w, cfg->model_path, cfg->block_begin,
	    cfg->block_end, cfg->repack ? 0 : MODEL_LOAD_PLAIN, cfg->threads,
	    cfg->progress.fn != NULL ? &cfg->progress : NULL, cause) != 0)
		goto fail;
	n->gguf = w.gguf;
	n->pool = w.pool;
	n->model = w.model;
	hp = w.hp;
	/* weights_open takes [0, 0) for "no block"; a node serves some. */
	if (cfg->block_begin >= cfg->block_end) {
		set_cause(cause, "blocks %u:%u out of range: '%s' has %u",
		    cfg->block_begin, cfg->block_end, cfg->model_path,
		    hp.n_layer);
		goto fail;
	}
	if (n->cfg.max_context == 0)
		n->cfg.max_context = hp.n_ctx_train > 0 ? hp.n_ctx_train : 4096;
	/* The id given (empty: set once hashed), else a provisional one. */
	if (cfg->model_id != NULL)
		snprintf(n->model_id, sizeof(n->model_id), "%s",
		    cfg->model_id);
	else if (model_id_compute(n->gguf, NULL, n->model_id,
	    sizeof(n->model_id)) != 0) {
		set_cause(cause, "cannot compute the model id of '%s'",
		    cfg->model_path);
		goto fail;
	}
	if (node_measure(n, cause) != 0 || node_open_ledger(n, cause) != 0)
		goto fail;
	if (cfg->batch && (n->batch = batch_new(&(struct batch_config){
	    .model = n->model, .pool = n->pool, .pool_mu = &n->pool_mu,
	    .block_begin = cfg->block_begin, .block_end = cfg->block_end,
	    .chunk = BATCH_ROWS_MAX, .idle_between = 1 },
	    cause)) == NULL)
		goto fail;
	memset(&hcfg, 0, sizeof(hcfg));
	hcfg.host = host;
	hcfg.port = port;
	/* the caller's routes (the shard store's pieces), then the node's */
	n_base = sizeof(node_routes) / sizeof(node_routes[0]);
	n->routes = xreallocarray(NULL, cfg->n_extra_routes + n_base,
	    sizeof(*n->routes));
	if (cfg->n_extra_routes > 0)
		memcpy(n->routes, cfg->extra_routes, cfg->n_extra_routes *
		    sizeof(*n->routes));
	memcpy(n->routes + cfg->n_extra_routes, node_routes, n_base *
	    sizeof(*n->routes));
	hcfg.routes = n->routes;
	hcfg.n_routes = cfg->n_extra_routes + n_base;
	hcfg.arg = n;
	hcfg.channel_path = PROTO_CHANNEL_PATH;
	/* Room for one full-context step of a large model at a time. */
	hcfg.max_buffered = 2 * (size_t)PROTO_MAX_BODY;
	if ((n->http = http_server_new(&hcfg, cause)) == NULL)
		goto fail;
	n->port = http_server_port(n->http);
	if (cfg->public_addr != NULL)
		n->public_addr = xstrdup(cfg->public_addr);
	else if (strchr(host, ':') != NULL)
		n->public_addr = xasprintf("[%s]:%u", host, n->port);
	else
		n->public_addr = xasprintf("%s:%u", host, n->port);
	if (n->data_dir != NULL && node_write_token(n, cause) != 0)
		goto fail;
	if (pthread_create(&n->housekeeper, NULL, node_housekeeper, n) != 0) {
		set_cause(cause, "cannot start a thread");
		goto fail;
	}
	n->housekeeper_running = 1;
	pthread_mutex_lock(&n->mu);
	n->state = PEER_STATE_ONLINE;
	pthread_mutex_unlock(&n->mu);
	free(host);
	return n;
fail:
	free(host);
	node_free(n);
	return NULL;
}

uint16_t
node_port(const struct node *n)
{
	return n->port;
}

const char *
node_addr(const struct node *n)
{
	return n->public_addr;
}

const char *
node_model_id(const struct node *n)
{
	return n->model_id;
}

double
node_throughput(const struct node *n)
{
	return n->throughput;
}

void
node_set_announcer(struct node *n, struct directory *d)
{
	pthread_mutex_lock(&n->mu);
	n->announcer = d;
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->mu);
}

void
node_drain(struct node *n)
{
	pthread_mutex_lock(&n->mu);
	n->drain_asked = 1;
	/* At once: a session opened after the answer to leave is refused. */
	n->state = PEER_STATE_DRAINING;
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->mu);
}

int
node_wait(struct node *n, char **cause)
{
	struct peer_record r;
	struct timespec ts;
	char *err = NULL;
	double deadline;

	pthread_mutex_lock(&n->mu);
	while (!n->drain_asked)
		pthread_cond_wait(&n->cond, &n->mu);
	n->state = PEER_STATE_DRAINING;
	node_record_locked(n, &r);
	pthread_mutex_unlock(&n->mu);
	node_log(n, "draining");
	if (n->announcer != NULL && n->announcer->ops->announce != NULL &&
	    n->announcer->ops->announce(n->announcer, &r, &err) != 0) {
		node_log(n, "announce: %s", err);
		free(err);
	}

	/*
	 * Open sessions may finish their generation, within the bound; the
	 * short floor lets the answer to a leave request go out first.
	 */
	deadline = node_now() + n->cfg.drain_timeout;
	clock_sleep(0.05);
	pthread_mutex_lock(&n->mu);
	while ((n->in_flight > 0 || n->n_sessions > 0) &&
	    node_now() < deadline) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000 * 1000;
		if (ts.tv_nsec >= 1000 * 1000 * 1000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000 * 1000 * 1000;
		}
		pthread_cond_timedwait(&n->cond, &n->mu, &ts);
	}
	if (n->in_flight > 0 || n->n_sessions > 0)
		node_log(n, "%u sessions still open after %.0f s: closing "
		    "them", n->n_sessions, n->cfg.drain_timeout);
	/* Withdraw the record: readers drop a node whose last says gone. */
	n->state = PEER_STATE_GONE;
	node_record_locked(n, &r);
	pthread_mutex_unlock(&n->mu);
	if (n->announcer != NULL && n->announcer->ops->announce != NULL &&
	    n->announcer->ops->announce(n->announcer, &r, &err) != 0) {
		node_log(n, "withdraw: %s", err);
		free(err);
	}
	(void)cause;
	return 0;
}

void
node_free(struct node *n)
{
	struct node_session *s;

	if (n == NULL)
		return;
	/* Stop the server first: no handler runs after this. */
	http_server_free(n->http);
	free(n->routes);
	/* Then the forwards, which use the node. */
	pthread_mutex_lock(&n->mu);
	n->fwd_quit = 1;
	pthread_cond_broadcast(&n->fwd_cond);
	while (n->forwarding > 0 || n->fwd_threads > 0)
		pthread_cond_wait(&n->cond, &n->mu);
	while (n->pushers != NULL) {
		struct node_pusher *p = n->pushers;

		n->pushers = p->next;
		http_client_free(p->http);
		free(p);
	}
	pthread_mutex_unlock(&n->mu);
	batch_free(n->batch);
	if (n->housekeeper_running) {
		pthread_mutex_lock(&n->mu);
		n->stopping = 1;
		pthread_cond_broadcast(&n->cond);
		pthread_mutex_unlock(&n->mu);
		pthread_join(n->housekeeper, NULL);
	}
	while ((s = n->sessions) != NULL) {
		n->sessions = s->next;
		node_session_free(s);
	}
	if (n->token_path != NULL)
		unlink(n->token_path);
	free(n->token_path);
	free(n->token);
	pool_free(n->pool);
	model_free(n->model);
	gguf_close(n->gguf);
	pthread_mutex_destroy(&n->mu);
	pthread_cond_destroy(&n->cond);
	pthread_cond_destroy(&n->fwd_cond);
	node_queue_release(&n->compute);
	pthread_mutex_destroy(&n->pool_mu);
	node_ledger_free(n->ledger);
	free(n->held);
	free(n->model_path);
	free(n->public_addr);
	free(n->peer_id);
	free(n->data_dir);
	free(n);
}
