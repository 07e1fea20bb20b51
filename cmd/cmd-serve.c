/*
 * swarm serve: the OpenAI-compatible HTTP API (src/serve/gateway.c) over a
 * model run here (--local) or through the swarm. Every request gets a
 * backend of its own: a KV cache over the shared mapped model, or its own
 * client sessions with the swarm's peers. The compute pool is shared and
 * not reentrant, so evaluations take turns on it.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "conf/conf.h"
#include "core/chat.h"
#include "core/generate.h"
#include "core/gguf.h"
#include "core/model.h"
#include "core/pool.h"
#include "core/tokenizer.h"
#include "net/dht.h"
#include "serve/gateway.h"
#include "swarm/client.h"
#include "swarm/directory-dht.h"
#include "swarm/directory-static.h"
#include "swarm/model-id.h"
#include "swarm/record.h"
#include "swarm/route.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

static const struct cmd_opt serve_opts[] = {
	{ 'm', "model", "FILE", "the model (GGUF file)" },
	{ 'l', "listen", "HOST:PORT", "address of the API (default: "
	    "serve.listen, 127.0.0.1:8000)" },
	{ 0, "port-file", "FILE", "write the port listened on to FILE" },
	{ 0, "local", NULL, "run every block in this process" },
	{ 0, "peer", "HOST:PORT", "a node of the swarm to route through "
	    "(repeatable)" },
	{ 0, "bootstrap", "HOST:PORT", "find the swarm's nodes through the "
	    "DHT, joining at this node (repeatable; default: swarm.bootstrap)" },
	{ 0, "network", "NAME", "the swarm's name (default: swarm.network)" },
	{ 0, "api-key", "KEY", "accept this bearer token (repeatable; "
	    "default: serve.api_keys; none: no authentication)" },
	{ 0, "model-name", "ID", "the model's id in the API (default: the "
	    "file name without .gguf)" },
	{ 'c', "ctx-size", "N", "context length (default: the model's)" },
	{ 0, "max-concurrent", "N", "requests generating at once; more get "
	    "429 (default: serve.max_concurrent, 8)" },
	{ 0, "heartbeat", "SECONDS", "empty chunk interval while a stream "
	    "waits for its first token; 0: off (default: "
	    "serve.heartbeat_seconds, 5)" },
	{ 0, "max-body", "BYTES", "largest request body (default: "
	    "serve.max_body_bytes)" },
	{ 't', "threads", "N", "worker threads (default: the number of cores)" },
	{ 0, "repack", "on|off", "repack quantized matrices at load for faster "
	    "kernels (default on; off: load at once, use the file's pages)" },
	{ 'v', "verbose", NULL, "log requests' backends on stderr" },
	{ 0, NULL, NULL, NULL }
};

static const struct cmd_conf_flag serve_conf[] = {
	{ "listen", "serve.listen" },
	{ "max-concurrent", "serve.max_concurrent" },
	{ "heartbeat", "serve.heartbeat_seconds" },
	{ "max-body", "serve.max_body_bytes" },
	{ "threads", "infer.threads" },
	{ "repack", "infer.repack" },
	{ "network", "swarm.network" },
	{ NULL, NULL }
};

/* Round trips to one peer for one span, summed over closed requests. */
struct serve_peer {
	char		 addr[256];
	uint32_t	 begin;
	uint32_t	 end;
	uint64_t	 steps;
	double		 seconds;
};

struct serve {
	const struct model	*model;
	struct pool		*pool;
	pthread_mutex_t		 pool_mu;
	int			 local;
	struct client_config	 cc;	/* swarm: the template of each client */
	int			 verbose;
	/* Tests slow evaluations down to hold requests open. */
	unsigned		 test_delay_ms;
	unsigned		 test_prompt_delay_ms;
	pthread_mutex_t		 peers_mu;
	struct serve_peer	*peers;
	size_t			 n_peers;
};

/*
 * The directory every request's client looks peers up in. The static one
 * reuses one HTTP handle per node, which two threads must not share, so
 * lookups take turns.
 */
struct serve_dir {
	struct directory	 base;
	struct directory	*inner;
	pthread_mutex_t		 mu;
};

static int
serve_dir_lookup(struct directory *d, const char *model_id,
    struct peer_record **out, size_t *n, char **cause)
{
	struct serve_dir *sd = (struct serve_dir *)d;
	int rc;

	pthread_mutex_lock(&sd->mu);
	rc = sd->inner->ops->lookup(sd->inner, model_id, out, n, cause);
	pthread_mutex_unlock(&sd->mu);
	return rc;
}

static void
serve_dir_free(struct directory *d)
{
	struct serve_dir *sd = (struct serve_dir *)d;

	sd->inner->ops->free(sd->inner);
	pthread_mutex_destroy(&sd->mu);
	free(sd);
}

static const struct directory_ops serve_dir_ops = {
	.lookup = serve_dir_lookup,
	.announce = NULL,
	.free = serve_dir_free,
};

static struct directory *
serve_dir_new(struct directory *inner)
{
	struct serve_dir *sd = xcalloc(1, sizeof(*sd));

	sd->base.ops = &serve_dir_ops;
	sd->inner = inner;
	pthread_mutex_init(&sd->mu, NULL);
	return &sd->base;
}

/* One request's backend, wrapped so evaluations take turns on the pool. */
struct serve_state {
	struct serve		*sv;
	struct generate_backend	 inner;
	struct generate_local	 local;
	struct client_backend	 cb;
	struct client		*client;
};

static void
serve_log(void *arg, const char *msg)
{
	fprintf(stderr, "swarm: %s\n", msg);
}

static int
serve_eval(void *ctx, const int32_t *tokens, int n, int32_t pos0,
    int all_logits, float *logits, char **cause)
{
	struct serve_state *st = ctx;
	unsigned delay = pos0 == 0 ? st->sv->test_prompt_delay_ms :
	    st->sv->test_delay_ms;
	int rc;

	if (delay > 0)
		usleep(delay * 1000);
	pthread_mutex_lock(&st->sv->pool_mu);
	rc = st->inner.eval(st->inner.ctx, tokens, n, pos0, all_logits,
	    logits, cause);
	pthread_mutex_unlock(&st->sv->pool_mu);
	return rc;
}

static int
serve_open(void *arg, uint32_t n_ctx, struct generate_backend *be,
    void **state, char **cause)
{
	struct serve *sv = arg;
	struct serve_state *st = xcalloc(1, sizeof(*st));
	int rc;

	st->sv = sv;
	if (sv->local) {
		/* kv_cache_new allocates; the pool is not touched. */
		rc = generate_local_init(&st->local, sv->model, sv->pool, n_ctx,
		    &st->inner, cause);
	} else {
		st->client = client_new(&sv->cc);
		rc = client_backend_init(&st->cb, sv->model, sv->pool,
		    st->client, n_ctx, &st->inner, cause);
	}
	if (rc != 0) {
		if (sv->local)
			generate_local_release(&st->local);
		client_free(st->client);
		free(st);
		return -1;
	}
	*be = st->inner;
	be->ctx = st;
	be->eval = serve_eval;
	*state = st;
	return 0;
}

static void
serve_add_stats(struct serve *sv, struct client *c)
{
	struct client_hop_stats *hs;
	struct serve_peer *p;
	size_t i, j, n = client_stats(c, &hs);

	pthread_mutex_lock(&sv->peers_mu);
	for (i = 0; i < n; i++) {
		for (j = 0; j < sv->n_peers; j++) {
			p = &sv->peers[j];
			if (strcmp(p->addr, hs[i].addr) == 0 &&
			    p->begin == hs[i].begin && p->end == hs[i].end)
				break;
		}
		if (j == sv->n_peers) {
			sv->peers = xreallocarray(sv->peers, sv->n_peers + 1,
			    sizeof(*sv->peers));
			p = &sv->peers[sv->n_peers++];
			memset(p, 0, sizeof(*p));
			snprintf(p->addr, sizeof(p->addr), "%s", hs[i].addr);
			p->begin = hs[i].begin;
			p->end = hs[i].end;
		}
		sv->peers[j].steps += hs[i].steps;
		sv->peers[j].seconds += hs[i].seconds;
	}
	pthread_mutex_unlock(&sv->peers_mu);
	free(hs);
}

/*
 * /health: through a swarm, is every block served by an online node? The
 * records alone are asked, no node is dialled.
 */
static int
serve_health(void *arg, char **detail)
{
	struct serve *sv = arg;
	struct peer_record *recs = NULL;
	struct route_peer *rp;
	struct route_hop *hops = NULL;
	size_t i, n = 0, n_hops;
	int rc;

	if (sv->local)
		return 0;
	if (sv->cc.dir->ops->lookup(sv->cc.dir, sv->cc.model_id, &recs, &n,
	    detail) != 0)
		return -1;
	rp = xcalloc(n ? n : 1, sizeof(*rp));
	for (i = 0; i < n; i++) {
		rp[i].rec = &recs[i];
		rp[i].usable = recs[i].state == PEER_STATE_ONLINE &&
		    recs[i].block_end <= sv->cc.n_layer;
	}
	rc = route_find(rp, n, 0, sv->cc.n_layer, &hops, &n_hops, detail);
	free(hops);
	free(rp);
	free(recs);
	return rc;
}

/* Per-peer step latency for /metrics. */
static void
serve_metrics(void *arg, struct strbuf *out)
{
	struct serve *sv = arg;
	const struct serve_peer *p;
	size_t i;

	if (sv->local)
		return;
	pthread_mutex_lock(&sv->peers_mu);
	strbuf_adds(out, "# HELP swarm_serve_peer_steps_total steps sent to "
	    "a peer for a span of blocks\n# TYPE swarm_serve_peer_steps_total "
	    "counter\n");
	for (i = 0; i < sv->n_peers; i++) {
		p = &sv->peers[i];
		strbuf_addf(out, "swarm_serve_peer_steps_total{peer=\"%s\","
		    "blocks=\"%u:%u\"} %llu\n", p->addr, p->begin, p->end,
		    (unsigned long long)p->steps);
	}
	strbuf_adds(out, "# HELP swarm_serve_peer_step_seconds_total round "
	    "trips of those steps, summed\n# TYPE "
	    "swarm_serve_peer_step_seconds_total counter\n");
	for (i = 0; i < sv->n_peers; i++) {
		p = &sv->peers[i];
		strbuf_addf(out, "swarm_serve_peer_step_seconds_total{peer="
		    "\"%s\",blocks=\"%u:%u\"} %.6f\n", p->addr, p->begin,
		    p->end, p->seconds);
	}
	pthread_mutex_unlock(&sv->peers_mu);
}

static void
serve_close(void *arg, void *state)
{
	struct serve_state *st = state;

	if (st == NULL)
		return;
	if (st->client != NULL)
		serve_add_stats(st->sv, st->client);
	if (st->sv->local)
		generate_local_release(&st->local);
	client_free(st->client);
	free(st);
}

static int
serve_write_port(const char *path, unsigned port, char **cause)
{
	char *tmp = xasprintf("%s.tmp", path);
	FILE *fp;

	/* Written whole, then renamed: a reader never sees half. */
	if ((fp = fopen(tmp, "w")) == NULL || fprintf(fp, "%u\n", port) < 0 ||
	    fclose(fp) != 0 || rename(tmp, path) != 0) {
		set_cause(cause, "cannot write '%s': %s", path,
		    strerror(errno));
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

/* "dir/name.gguf" -> "name". */
static char *
serve_model_name(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base != NULL ? base + 1 : path;
	len = strlen(base);
	if (len > 5 && strcmp(base + len - 5, ".gguf") == 0)
		len -= 5;
	return xstrndup(base, len);
}

static int
cmd_serve_exec(struct cmd_args *a)
{
	struct gateway_config gc;
	struct gateway *gw = NULL;
	struct chat_template tmpl;
	struct model_hparams hp;
	struct serve sv;
	struct conf *conf;
	struct gguf_file *gf = NULL;
	struct model *m = NULL;
	struct tokenizer *tok = NULL;
	struct directory *dir = NULL;
	struct dht *dht = NULL;
	const char *path = args_get(a, "model"), *v, *err;
	char *cause = NULL, *host = NULL, *name = NULL, *src, *warning = NULL;
	char **peers, **boots, **keys, *const *ck, *const *aliases;
	char model_id[MODEL_ID_MAX];
	unsigned port;
	int n_peers, n_boots, n_keys, rc, have_tmpl = 0, i, sig;
	size_t n_ck, n_aliases, j;
	int64_t n_ctx = 0;
	sigset_t set;

	memset(&sv, 0, sizeof(sv));
	memset(&gc, 0, sizeof(gc));
	pthread_mutex_init(&sv.pool_mu, NULL);
	pthread_mutex_init(&sv.peers_mu, NULL);
	sv.local = args_flag(a, "local");
	sv.verbose = args_flag(a, "verbose");
	if ((v = getenv("SWARM_TEST_EVAL_DELAY_MS")) != NULL &&
	    (sv.test_delay_ms = (unsigned)parse_uint(v, 0, 10000, &err),
	    err != NULL))
		sv.test_delay_ms = 0;
	if ((v = getenv("SWARM_TEST_PROMPT_DELAY_MS")) != NULL &&
	    (sv.test_prompt_delay_ms = (unsigned)parse_uint(v, 0, 10000,
	    &err), err != NULL))
		sv.test_prompt_delay_ms = 0;
	peers = args_get_all(a, "peer", &n_peers);
	boots = args_get_all(a, "bootstrap", &n_boots);
	keys = args_get_all(a, "api-key", &n_keys);
	if (path == NULL)
		return cmd_usage_error(a, "a model is needed (-m MODEL.gguf)");
	if (sv.local && n_peers + n_boots > 0)
		return cmd_usage_error(a, "give --local or --peer/--bootstrap, "
		    "not both");
	if (n_peers > 0 && n_boots > 0)
		return cmd_usage_error(a, "give --peer or --bootstrap, not both");
	if ((v = args_get(a, "ctx-size")) != NULL) {
		n_ctx = parse_int(v, 1, 1 << 20, &err);
		if (err != NULL)
			return cmd_usage_error(a, "--ctx-size: '%s' is %s", v,
			    err);
	}
	if ((conf = cmd_conf_load(0)) == NULL)
		return EXIT_ERR;
	if ((rc = cmd_conf_flags(a, conf, serve_conf)) != 0) {
		conf_free(conf);
		return rc;
	}
	for (i = 0; i < n_boots; i++)
		if ((i == 0 ? conf_set_flag(conf, "swarm.bootstrap", boots[i],
		    &cause) : conf_add(conf, "swarm.bootstrap", boots[i],
		    &cause)) != 0) {
			conf_free(conf);
			rc = cmd_usage_error(a, "%s", cause);
			free(cause);
			return rc;
		}
	rc = EXIT_ERR;
	if (!sv.local && n_peers == 0) {
		conf_get_list(conf, "swarm.bootstrap", &n_ck);
		if (n_ck == 0) {
			conf_free(conf);
			return cmd_usage_error(a, "no swarm to route through: "
			    "give --bootstrap HOST:PORT (or set "
			    "swarm.bootstrap) or --peer HOST:PORT, or run "
			    "every block here with --local");
		}
	}
	if (conf_get_hostport(conf, "serve.listen", &host, &port) != 0) {
		conf_free(conf);
		return cmd_usage_error(a, "serve.listen has no value");
	}
	gc.host = host;
	gc.port = (uint16_t)port;
	gc.max_concurrent = (int)conf_get_int(conf, "serve.max_concurrent");
	gc.heartbeat_seconds = (int)conf_get_int(conf,
	    "serve.heartbeat_seconds");
	gc.max_body = (size_t)conf_get_int(conf, "serve.max_body_bytes");
	ck = conf_get_list(conf, "serve.api_keys", &n_ck);
	if (n_keys > 0) {
		gc.api_keys = keys;
		gc.n_api_keys = (size_t)n_keys;
	} else {
		gc.api_keys = ck;
		gc.n_api_keys = n_ck;
	}
	/* Aliases are "alias=model"; the ones naming this model count. */
	aliases = conf_get_list(conf, "serve.model_aliases", &n_aliases);

	sv.pool = pool_new((int)conf_get_int(conf, "infer.threads"));
	if ((gf = gguf_open(path, &cause)) == NULL ||
	    (tok = tokenizer_load(gf, &cause)) == NULL ||
	    model_read_hparams(gf, &hp, &cause) != 0 ||
	    (m = model_load(gf, 0, sv.local ? hp.n_layer : 0,
	    MODEL_LOAD_EMBED | MODEL_LOAD_HEAD | (conf_get_bool(conf,
	    "infer.repack") ? 0 : MODEL_LOAD_PLAIN), sv.pool, &cause)) == NULL)
		goto fail;
	pool_idle(sv.pool);
	src = gguf_get_strdup(gf, "tokenizer.chat_template");
	rc = chat_template_init(&tmpl, src, NULL,
	    tokenizer_piece(tok, tokenizer_bos(tok)),
	    tokenizer_piece(tok, tokenizer_eos(tok)), &warning, &cause);
	free(src);
	if (rc != 0) {
		rc = EXIT_ERR;
		goto fail;
	}
	rc = EXIT_ERR;
	have_tmpl = 1;
	if (warning != NULL)
		fprintf(stderr, "swarm: warning: %s\n", warning);
	free(warning);
	name = (v = args_get(a, "model-name")) != NULL ? xstrdup(v) :
	    serve_model_name(path);
	{
		char **mine = xcalloc(n_aliases + 1, sizeof(*mine));
		size_t k = 0;

		for (j = 0; j < n_aliases; j++) {
			const char *eq = strchr(aliases[j], '=');

			if (eq != NULL && strcmp(eq + 1, name) == 0)
				mine[k++] = xstrndup(aliases[j],
				    (size_t)(eq - aliases[j]));
		}
		gc.aliases = mine;
		gc.n_aliases = k;
	}
	if (n_ctx == 0)
		n_ctx = m->hp.n_ctx_train > 0 ? m->hp.n_ctx_train : 2048;
	sv.model = m;
	if (!sv.local) {
		if (model_id_compute(gf, model_id, sizeof(model_id)) != 0) {
			cause = xasprintf("cannot compute the model id of "
			    "'%s'", path);
			goto fail;
		}
		if (n_peers > 0)
			dir = directory_static_new((const char *const *)peers,
			    (size_t)n_peers);
		else {
			char *const *bl = conf_get_list(conf, "swarm.bootstrap",
			    &n_ck);

			if ((dht = dht_new(NULL, 0, conf_get_str(conf,
			    "swarm.network"), &cause)) == NULL ||
			    directory_dht_bootstrap(dht, bl, n_ck, 2000,
			    &cause) <= 0)
				goto fail;
			dir = directory_dht_new(dht, NULL);
		}
		dir = serve_dir_new(dir);
		client_config_init(&sv.cc);
		sv.cc.verify_rate = conf_get_float(conf, "client.verify_rate");
		sv.cc.dir = dir;
		sv.cc.model_id = model_id;
		sv.cc.n_layer = hp.n_layer;
		sv.cc.n_embd = hp.n_embd;
		if (sv.verbose)
			sv.cc.log = serve_log;
	}
	gc.model_name = name;
	gc.tok = tok;
	gc.tmpl = &tmpl;
	gc.n_ctx = (uint32_t)n_ctx;
	gc.open = serve_open;
	gc.close = serve_close;
	gc.metrics = serve_metrics;
	gc.health = serve_health;
	gc.arg = &sv;

	/* Every thread inherits the mask; this one takes the signals. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((gw = gateway_new(&gc, &cause)) == NULL)
		goto fail;
	if ((v = args_get(a, "port-file")) != NULL &&
	    serve_write_port(v, gateway_port(gw), &cause) != 0)
		goto fail;
	fprintf(stderr, "swarm: serving '%s' (%s, context %lld) on "
	    "http://%s:%u/v1\n", name, sv.local ? "local" : "swarm",
	    (long long)n_ctx, host, gateway_port(gw));
	while (sigwait(&set, &sig) != 0)
		;
	fprintf(stderr, "swarm: stopping\n");
	rc = EXIT_OK;
	goto out;
fail:
	rc = cmd_fail(cause);
out:
	gateway_free(gw);
	if (gc.aliases != NULL) {
		for (j = 0; j < gc.n_aliases; j++)
			free(gc.aliases[j]);
		free((void *)gc.aliases);
	}
	if (dir != NULL)
		dir->ops->free(dir);
	dht_free(dht);
	pool_free(sv.pool);
	if (have_tmpl)
		chat_template_release(&tmpl);
	model_free(m);
	tokenizer_free(tok);
	gguf_close(gf);
	conf_free(conf);
	pthread_mutex_destroy(&sv.pool_mu);
	pthread_mutex_destroy(&sv.peers_mu);
	free(sv.peers);
	free(host);
	free(name);
	return rc;
}

const struct cmd_entry cmd_serve_entry = {
	.noun = "serve", .verb = NULL,
	.usage = "[--listen HOST:PORT] -m MODEL.gguf [--local | --peer "
	    "HOST:PORT ... | --bootstrap HOST:PORT ...] [--api-key KEY ...]",
	.summary = "serve a model over an OpenAI-compatible HTTP API",
	.opts = serve_opts,
	.min_args = 0, .max_args = 0,
	.exec = cmd_serve_exec,
};
