/*
 * The engine (engine.h): one model load or one swarm join per process, and
 * backends handed out to any thread.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/chat.h"
#include "core/generate.h"
#include "core/gguf.h"
#include "core/model.h"
#include "core/pool.h"
#include "core/tokenizer.h"
#include "shard/store.h"
#include "core/weights.h"
#include "core/batch.h"
#include "engine/conversation.h"
#include "engine/engine.h"
#include "ledger/ledger.h"
#include "net/dht.h"
#include "swarm/client.h"
#include "swarm/directory-dht.h"
#include "swarm/directory-static.h"
#include "swarm/identity.h"
#include "swarm/model-id.h"
#include "swarm/push-trial.h"
#include "swarm/record.h"
#include "swarm/route.h"
#include "util/clock.h"
#include "util/strbuf.h"
#include "util/utf8.h"
#include "util/logcb.h"
#include "util/xmalloc.h"

struct engine {
	struct engine_config	 cfg;
	struct weights		 w;
	struct tokenizer	*tok;
	char			*path;		/* the file loaded */
	uint32_t		 n_ctx;
	double			 load_seconds;
	/* The pool takes one evaluation at a time. */
	pthread_mutex_t		 pool_mu;
	/* Local and batched: every backend's steps go through it. */
	struct batch		*batch;
	/* Swarm: the directory every backend's client looks peers up in. */
	char			 model_id[MODEL_ID_MAX];
	struct dht		*dht;
	struct directory	*dir;
	struct client_config	 cc;
	struct push_memo	*push_memo;	/* push auto, every backend's */
	char			*push_memo_path;	/* kept there; may be NULL */
	struct identity		 id;
	int			 have_id;
	struct ledger		*ledger;
	pthread_mutex_t		 stats_mu;
	struct engine_stats	 stats;
};

struct engine_backend {
	struct engine		*e;
	struct generate_backend	 inner;
	struct generate_local	 local;
	struct client_backend	 cb;
	struct client		*client;
	uint64_t		 tokens;
};

void
engine_config_init(struct engine_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->repack = 1;
	cfg->wire = PROTO_DTYPE_F32;
}

uint32_t
engine_default_ctx(uint32_t n_ctx_train)
{
	if (n_ctx_train == 0)
		return 2048;
	return n_ctx_train < ENGINE_CTX_DEFAULT_MAX ? n_ctx_train :
	    ENGINE_CTX_DEFAULT_MAX;
}

static void
engine_log(struct engine *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
engine_log(struct engine *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	logcb_vprintf(e->cfg.log, e->cfg.log_arg, fmt, ap);
	va_end(ap);
}

/*
 * The directory every backend's client looks peers up in. The static one
 * reuses one HTTP handle per node, which two threads must not share, so
 * lookups take turns.
 */
struct engine_dir {
	struct directory	 base;
	struct directory	*inner;
	pthread_mutex_t		 mu;
};

static int
engine_dir_lookup(struct directory *d, const char *model_id,
    struct peer_record **out, size_t *n, char **cause)
{
	struct engine_dir *ed = (struct engine_dir *)d;
	int rc;

	pthread_mutex_lock(&ed->mu);
	rc = ed->inner->ops->lookup(ed->inner, model_id, out, n, cause);
	pthread_mutex_unlock(&ed->mu);
	return rc;
}

static void
engine_dir_free(struct directory *d)
{
	struct engine_dir *ed = (struct engine_dir *)d;

	ed->inner->ops->free(ed->inner);
	pthread_mutex_destroy(&ed->mu);
	free(ed);
}

static const struct directory_ops engine_dir_ops = {
	.lookup = engine_dir_lookup,
	.announce = NULL,
	.free = engine_dir_free,
};

static struct directory *
engine_dir_new(struct directory *inner)
{
	struct engine_dir *ed = xcalloc(1, sizeof(*ed));

	ed->base.ops = &engine_dir_ops;
	ed->inner = inner;
	pthread_mutex_init(&ed->mu, NULL);
	return &ed->base;
}

/* The client's persistent key and its ledger, so balances last. */
static int
engine_account(struct engine *e, char **cause)
{
	const struct engine_config *cfg = &e->cfg;

	if (cfg->identity_path != NULL && !cfg->local) {
		if (identity_load_file(cfg->identity_path, &e->id, cause) != 0)
			return -1;
		e->have_id = 1;
		e->cc.identity = &e->id;
	}
	if (cfg->receipts && cfg->ledger_path != NULL) {
		if ((e->ledger = ledger_open(cfg->ledger_path, cause)) == NULL)
			return -1;
		e->cc.ledger = e->ledger;
	}
	return 0;
}

/* Swarm: the model's id and the directory, joined once. */
static int
engine_join(struct engine *e, char **cause)
{
	const struct engine_config *cfg = &e->cfg;
	struct directory *inner;

	/* The id commits to the weights: hashed once per file, then cached. */
	if (store_model_id(e->w.gguf->path, 1, e->model_id,
	    sizeof(e->model_id), cause) != 0)
		return -1;
	if (cfg->n_peers > 0)
		inner = directory_static_new((const char *const *)cfg->peers,
		    cfg->n_peers);
	else {
		if (directory_dht_join(cfg->network, NULL, 0, cfg->bootstrap,
		    cfg->n_bootstrap, 1, ENGINE_BOOTSTRAP_MS, &e->dht,
		    cause) != 0)
			return -1;
		inner = directory_dht_new(e->dht, NULL);
		engine_log(e, "finding peers through the DHT of network '%s'",
		    cfg->network);
	}
	e->dir = engine_dir_new(inner);
	client_config_init(&e->cc);
	e->cc.dir = e->dir;
	e->cc.model_id = e->model_id;
	e->cc.n_layer = e->w.hp.n_layer;
	e->cc.n_embd = e->w.hp.n_embd;
	e->cc.wire = cfg->wire;
	e->cc.wire_auto = !cfg->wire_fixed;
	e->cc.push = cfg->push;
	e->cc.plain_http = cfg->plain_http;
	e->cc.push_memo = e->push_memo = push_memo_new();
	if (cfg->push_memo_path != NULL && cfg->push == CLIENT_PUSH_AUTO) {
		char *why = NULL;
		int n, trials;

		e->push_memo_path = xstrdup(cfg->push_memo_path);
		if ((n = push_memo_load(e->push_memo, e->push_memo_path,
		    clock_now(), &trials, &why)) < 0) {
			engine_log(e, "push auto: %s", why);
			free(why);
		} else if (n > 0 && trials == 0)
			engine_log(e, "push auto: %d verdict%s of earlier runs "
			    "(%s)", n, n == 1 ? "" : "s", e->push_memo_path);
		else if (trials > 0)
			engine_log(e, "push auto: %d verdict%s and %d trial%s "
			    "going on of earlier runs (%s)", n, n == 1 ? "" :
			    "s", trials, trials == 1 ? "" : "s",
			    e->push_memo_path);
	}
	if (cfg->connect_timeout > 0)
		e->cc.connect_timeout = cfg->connect_timeout;
	if (cfg->step_timeout > 0)
		e->cc.step_timeout = cfg->step_timeout;
	e->cc.run_timeout = cfg->run_timeout;
	e->cc.verify_rate = cfg->verify_rate;
	e->cc.receipts = cfg->receipts;
	e->cc.max_price = cfg->max_price;
	e->cc.log = cfg->log;
	e->cc.log_arg = cfg->log_arg;
	engine_log(e, "model %s, %u blocks", e->model_id, e->w.hp.n_layer);
	return 0;
}

struct ledger *
engine_ledger(const struct engine *e)
{
	return e->ledger;
}

struct engine *
engine_open(const struct engine_config *cfg, char **cause)
{
	struct engine *e = xcalloc(1, sizeof(*e));
	double t0 = clock_now();
	int flags = MODEL_LOAD_EMBED | MODEL_LOAD_HEAD;

	e->cfg = *cfg;
	pthread_mutex_init(&e->pool_mu, NULL);
	pthread_mutex_init(&e->stats_mu, NULL);
	if (!cfg->repack)
		flags |= MODEL_LOAD_PLAIN;
	if (cfg->model_path == NULL) {
		set_cause(cause, "no model given");
		goto fail;
	}
	if (!cfg->local && cfg->n_peers == 0 && cfg->n_bootstrap == 0) {
		set_cause(cause, "no swarm to route through and not local");
		goto fail;
	}
	/* A model of the store: the span this engine loads must be held. */
	if ((e->path = store_resolve(cfg->model_path, 0, cfg->local ?
	    MANIFEST_NO_BLOCK : 0, 1, cause)) == NULL)
		goto fail;
	if (weights_open(&e->w, e->path, 0, cfg->local ? WEIGHTS_ALL :
	    0, flags, cfg->threads, cfg->progress.fn != NULL ? &cfg->progress :
	    NULL, cause) != 0 ||
	    (e->tok = tokenizer_load(e->w.gguf, cause)) == NULL)
		goto fail;
	/* Until the first request the cores are the nodes'. */
	pool_idle(e->w.pool);
	e->n_ctx = cfg->n_ctx > 0 ? cfg->n_ctx :
	    engine_default_ctx(e->w.hp.n_ctx_train);
	if ((!cfg->local && engine_join(e, cause) != 0) ||
	    engine_account(e, cause) != 0)
		goto fail;
	/* Batched: local, every block; through the swarm, the heads. */
	if (cfg->batch && (e->batch = batch_new(&(struct batch_config){
	    .model = e->w.model, .pool = e->w.pool, .pool_mu = &e->pool_mu,
	    .block_begin = 0, .block_end = cfg->local ? e->w.hp.n_layer : 0,
	    .chunk = cfg->batch_chunk, .idle_between = !cfg->local },
	    cause)) == NULL)
		goto fail;
	e->load_seconds = clock_now() - t0;
	return e;
fail:
	engine_free(e);
	return NULL;
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	batch_free(e->batch);
	if (e->dir != NULL)
		e->dir->ops->free(e->dir);
	dht_free(e->dht);
	if (e->push_memo_path != NULL) {
		char *why = NULL;

		if (push_memo_save(e->push_memo, e->push_memo_path,
		    clock_now(), &why) != 0) {
			engine_log(e, "push auto: %s", why);
			free(why);
		}
		free(e->push_memo_path);
	}
	push_memo_free(e->push_memo);
	ledger_close(e->ledger);
	if (e->have_id)
		identity_release(&e->id);
	tokenizer_free(e->tok);
	weights_release(&e->w);
	free(e->path);
	pthread_mutex_destroy(&e->pool_mu);
	pthread_mutex_destroy(&e->stats_mu);
	engine_stats_release(&e->stats);
	free(e);
}

const struct gguf_file *
engine_gguf(const struct engine *e)
{
	return e->w.gguf;
}

const struct tokenizer *
engine_tokenizer(const struct engine *e)
{
	return e->tok;
}

const struct model *
engine_model(const struct engine *e)
{
	return e->w.model;
}

uint32_t
engine_n_ctx(const struct engine *e)
{
	return e->n_ctx;
}

int
engine_local(const struct engine *e)
{
	return e->cfg.local;
}

const char *
engine_model_id(const struct engine *e)
{
	return e->model_id;
}

int
engine_threads(const struct engine *e)
{
	return pool_size(e->w.pool);
}

double
engine_load_seconds(const struct engine *e)
{
	return e->load_seconds;
}

int
engine_chat_template(const struct engine *e, const char *name,
    struct chat_template *t, char **warning, char **cause)
{
	char *src;
	int rc;

	src = gguf_get_strdup(e->w.gguf, "tokenizer.chat_template");
	rc = chat_template_init(t, src, name, tokenizer_piece(e->tok,
	    tokenizer_bos(e->tok)), tokenizer_piece(e->tok,
	    tokenizer_eos(e->tok)), warning, cause);
	free(src);
	return rc;
}

int
engine_chat_render(const struct engine *e, const char *template,
    const struct chat_message *msgs, size_t n, char **out, int *flags,
    char **warning, char **cause)
{
	struct chat_template t;
	struct strbuf sb = STRBUF_INIT;
	int rc;

	if (engine_chat_template(e, template, &t, warning, cause) != 0)
		return -1;
	if ((rc = chat_render(&t, msgs, n, 1, &sb, cause)) == 0) {
		if ((*out = strbuf_detach(&sb, NULL)) == NULL)
			*out = xstrdup("");
		*flags = chat_tokenizer_flags(&t, *out);
	}
	strbuf_release(&sb);
	chat_template_release(&t);
	return rc;
}

int
engine_chat_prompt(const struct engine *e, const char *template,
    const char *system, const char *user, char **out, int *flags,
    char **warning, char **cause)
{
	struct chat_message msgs[2];
	size_t n = 0;

	if (system != NULL) {
		msgs[n].role = "system";
		msgs[n++].content = system;
	}
	msgs[n].role = "user";
	msgs[n++].content = user;
	return engine_chat_render(e, template, msgs, n, out, flags, warning,
	    cause);
}

int
engine_messages_prompt(const struct engine *e, const char *template,
    const char *system, const char *path, char **out, int *flags,
    char **warning, char **cause)
{
	struct conversation conv;
	int rc;

	conversation_init(&conv);
	if (conversation_load(&conv, path, cause) != 0)
		return -1;
	if (system != NULL)
		conversation_set_system(&conv, system);
	rc = engine_chat_render(e, template, conv.msgs, conv.n, out, flags,
	    warning, cause);
	conversation_release(&conv);
	return rc;
}

json_t *
engine_run_json(const struct engine *e, const char *model,
    const int32_t *prompt, size_t n_prompt, const struct generate_result *res,
    int64_t seed, double load_seconds)
{
	json_t *o = json_object(), *toks = json_array(), *ptoks = json_array();
	size_t i, clean_len;
	/* Byte tokens can leave invalid UTF-8; JSON needs text. */
	char *clean = utf8_sanitize(res->text, res->text_len, &clean_len);

	for (i = 0; i < n_prompt; i++)
		json_array_append_new(ptoks, json_integer(prompt[i]));
	for (i = 0; i < res->n_tokens; i++)
		json_array_append_new(toks, json_integer(res->tokens[i]));
	json_object_set_new(o, "model", json_string(model));
	json_object_set_new(o, "text", json_stringn(clean, clean_len));
	free(clean);
	/* Counts under OpenAI's usage names; the ids under their own. */
	json_object_set_new(o, "prompt_token_ids", ptoks);
	json_object_set_new(o, "completion_token_ids", toks);
	json_object_set_new(o, "usage", json_pack("{s:I,s:I,s:I}",
	    "prompt_tokens", (json_int_t)n_prompt, "completion_tokens",
	    (json_int_t)res->n_tokens, "total_tokens",
	    (json_int_t)(n_prompt + res->n_tokens)));
	json_object_set_new(o, "finish_reason", json_string(res->finish ==
	    GENERATE_FINISH_STOP ? "stop" : "length"));
	json_object_set_new(o, "seed", json_integer(seed));
	json_object_set_new(o, "n_ctx", json_integer(e->n_ctx));
	json_object_set_new(o, "timings", json_pack("{s:f,s:f,s:f,s:f,s:f,"
	    "s:f}", "load_seconds", load_seconds, "prompt_seconds",
	    res->prompt_seconds, "first_token_seconds",
	    res->first_token_seconds, "generation_seconds", res->gen_seconds,
	    "prompt_tokens_per_second", res->prompt_seconds > 0 ?
	    n_prompt / res->prompt_seconds : 0.0,
	    "generation_tokens_per_second", res->n_tokens > 1 &&
	    res->gen_seconds > 0 ? (res->n_tokens - 1) / res->gen_seconds :
	    0.0));
	return o;
}

static int
engine_backend_eval(void *ctx, const int32_t *tokens, int n, int32_t pos0,
    int all_logits, float *logits, char **cause)
{
	struct engine_backend *b = ctx;
	struct engine *e = b->e;
	unsigned delay = pos0 == 0 ? e->cfg.test_prompt_delay_ms :
	    e->cfg.test_eval_delay_ms;
	int rc;

	if (delay > 0)
		usleep(delay * 1000);
	/* A swarm backend locks the pool itself, around its own work. */
	if (e->batch != NULL && e->cfg.local)
		rc = batch_eval(e->batch, b->local.kv, tokens, n, pos0,
		    all_logits, logits, cause);
	else {
		if (e->cfg.local)
			pthread_mutex_lock(&e->pool_mu);
		rc = b->inner.eval(b->inner.ctx, tokens, n, pos0, all_logits,
		    logits, cause);
		if (e->cfg.local)
			pthread_mutex_unlock(&e->pool_mu);
	}
	if (rc == 0)
		b->tokens += (uint64_t)n;
	return rc;
}

int
engine_backend_open(struct engine *e, uint32_t n_ctx,
    struct generate_backend *be, struct engine_backend **out, char **cause)
{
	struct engine_backend *b = xcalloc(1, sizeof(*b));
	int rc;

	b->e = e;
	if (n_ctx == 0)
		n_ctx = e->n_ctx;
	if (e->cfg.local) {
		/* kv_cache_new allocates; the pool is not touched. */
		rc = generate_local_init(&b->local, e->w.model, e->w.pool,
		    n_ctx, &b->inner, cause);
	} else {
		b->client = client_new(&e->cc);
		rc = client_backend_init(&b->cb, e->w.model, e->w.pool,
		    &e->pool_mu, b->client, n_ctx, &b->inner, cause);
		b->cb.head_batch = e->batch;
	}
	if (rc != 0) {
		generate_local_release(&b->local);
		client_free(b->client);
		free(b);
		return -1;
	}
	*be = b->inner;
	be->ctx = b;
	be->eval = engine_backend_eval;
	pthread_mutex_lock(&e->stats_mu);
	e->stats.backends++;
	pthread_mutex_unlock(&e->stats_mu);
	*out = b;
	return 0;
}

size_t
engine_backend_hops(const struct engine_backend *b,
    struct client_hop_stats **out)
{
	if (b->client == NULL) {
		*out = NULL;
		return 0;
	}
	return client_stats(b->client, out);
}

void
engine_backend_push(const struct engine_backend *b,
    struct client_push_stats *st)
{
	if (b->client != NULL)
		client_push_stats(b->client, st);
	else
		memset(st, 0, sizeof(*st));
}

unsigned
engine_backend_failovers(const struct engine_backend *b)
{
	return b->client != NULL ? client_failovers(b->client) : 0;
}

unsigned
engine_backend_verified(const struct engine_backend *b, unsigned *mismatches)
{
	if (b->client == NULL) {
		if (mismatches != NULL)
			*mismatches = 0;
		return 0;
	}
	return client_verified(b->client, mismatches);
}

/* Adds one closed backend's per-hop figures; stats_mu held. */
static void
engine_add_hops(struct engine_stats *st, const struct client_hop_stats *hs,
    size_t n)
{
	struct engine_peer_stats *p;
	size_t i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < st->n_peers; j++) {
			p = &st->peers[j];
			if (strcmp(p->addr, hs[i].addr) == 0 &&
			    p->begin == hs[i].begin && p->end == hs[i].end)
				break;
		}
		if (j == st->n_peers) {
			st->peers = xreallocarray(st->peers, st->n_peers + 1,
			    sizeof(*st->peers));
			p = &st->peers[st->n_peers++];
			memset(p, 0, sizeof(*p));
			snprintf(p->addr, sizeof(p->addr), "%s", hs[i].addr);
			p->begin = hs[i].begin;
			p->end = hs[i].end;
		}
		st->peers[j].steps += hs[i].steps;
		st->peers[j].seconds += hs[i].seconds;
	}
}

void
engine_backend_close(struct engine_backend *b)
{
	uint64_t units, amount;

	engine_backend_close_spent(b, &units, &amount);
}

void
engine_backend_close_spent(struct engine_backend *b, uint64_t *units,
    uint64_t *amount)
{
	struct engine *e;
	struct client_hop_stats *hs = NULL;
	size_t n;

	*units = *amount = 0;
	if (b == NULL)
		return;
	e = b->e;
	n = engine_backend_hops(b, &hs);
	pthread_mutex_lock(&e->stats_mu);
	e->stats.tokens += b->tokens;
	engine_add_hops(&e->stats, hs, n);
	pthread_mutex_unlock(&e->stats_mu);
	free(hs);
	batch_forget(e->batch, e->cfg.local ? (const void *)b->local.kv :
	    (const void *)&b->cb);
	generate_local_release(&b->local);
	if (b->client != NULL) {
		/* Closing sends the last receipts: count after. */
		client_close(b->client);
		client_spent(b->client, units, amount);
	}
	client_free(b->client);
	free(b);
}

void
engine_stats(struct engine *e, struct engine_stats *out)
{
	pthread_mutex_lock(&e->stats_mu);
	*out = e->stats;
	out->peers = xcalloc(e->stats.n_peers ? e->stats.n_peers : 1,
	    sizeof(*out->peers));
	if (e->stats.n_peers > 0)
		memcpy(out->peers, e->stats.peers, e->stats.n_peers *
		    sizeof(*out->peers));
	pthread_mutex_unlock(&e->stats_mu);
}

void
engine_stats_release(struct engine_stats *st)
{
	free(st->peers);
	memset(st, 0, sizeof(*st));
}

int
engine_health(struct engine *e, char **detail)
{
	struct peer_record *recs = NULL;
	struct route_peer *rp;
	struct route_hop *hops = NULL;
	size_t i, n = 0, n_hops;
	int rc;

	if (e->cfg.local)
		return 0;
	if (e->dir->ops->lookup(e->dir, e->model_id, &recs, &n, detail) != 0)
		return -1;
	rp = xcalloc(n ? n : 1, sizeof(*rp));
	for (i = 0; i < n; i++) {
		rp[i].rec = &recs[i];
		rp[i].usable = recs[i].state == PEER_STATE_ONLINE &&
		    recs[i].block_end <= e->w.hp.n_layer;
	}
	rc = route_find(rp, n, 0, e->w.hp.n_layer, &hops, &n_hops, detail);
	free(hops);
	free(rp);
	free(recs);
	return rc;
}

/* What the batcher did: steps, rows, the most sessions in one step. */
static void
engine_metrics_batch(struct engine *e, struct strbuf *out)
{
	struct batch_stats bs;

	batch_stats(e->batch, &bs);
	strbuf_addf(out, "# HELP swarm_serve_batch_steps_total passes over "
	    "the weights for the requests in flight\n"
	    "# TYPE swarm_serve_batch_steps_total counter\n"
	    "swarm_serve_batch_steps_total %llu\n"
	    "# HELP swarm_serve_batch_rows_total tokens evaluated in those "
	    "passes\n# TYPE swarm_serve_batch_rows_total counter\n"
	    "swarm_serve_batch_rows_total %llu\n"
	    "# HELP swarm_serve_batch_sessions_max the most requests one pass "
	    "served\n# TYPE swarm_serve_batch_sessions_max gauge\n"
	    "swarm_serve_batch_sessions_max %llu\n",
	    (unsigned long long)bs.steps, (unsigned long long)bs.rows,
	    (unsigned long long)bs.max_sessions);
}

void
engine_metrics(struct engine *e, struct strbuf *out)
{
	struct engine_stats st;
	const struct engine_peer_stats *p;
	size_t i;

	if (e->batch != NULL)
		engine_metrics_batch(e, out);
	if (e->cfg.local)
		return;
	engine_stats(e, &st);
	strbuf_adds(out, "# HELP swarm_serve_peer_steps_total steps sent to "
	    "a peer for a span of blocks\n# TYPE swarm_serve_peer_steps_total "
	    "counter\n");
	for (i = 0; i < st.n_peers; i++) {
		p = &st.peers[i];
		strbuf_addf(out, "swarm_serve_peer_steps_total{peer=\"%s\","
		    "blocks=\"%u:%u\"} %llu\n", p->addr, p->begin, p->end,
		    (unsigned long long)p->steps);
	}
	strbuf_adds(out, "# HELP swarm_serve_peer_step_seconds_total round "
	    "trips of those steps, summed\n# TYPE "
	    "swarm_serve_peer_step_seconds_total counter\n");
	for (i = 0; i < st.n_peers; i++) {
		p = &st.peers[i];
		strbuf_addf(out, "swarm_serve_peer_step_seconds_total{peer="
		    "\"%s\",blocks=\"%u:%u\"} %.6f\n", p->addr, p->begin,
		    p->end, p->seconds);
	}
	engine_stats_release(&st);
}
