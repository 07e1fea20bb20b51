/*
 * swarm serve: the OpenAI-compatible HTTP API over a model run here
 * (--local) or through the swarm: the engine (src/engine/) gives every
 * request a backend of its own and src/engine/engine-serve.c puts the
 * gateway over it. This file parses, starts, waits for a signal.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "conf/conf.h"
#include "engine/engine-serve.h"
#include "engine/engine.h"
#include "serve/gateway.h"
#include "util/path.h"
#include "util/xmalloc.h"

static const struct opt serve_opts[] = {
	OPT_MODEL,
	OPT_STRING('l', "listen", "HOST:PORT", "address of the API (default: "
	    "serve.listen, 127.0.0.1:8000)"),
	OPT_PORT_FILE,
	OPT_LOCAL,
	OPT_PEER,
	OPT_BOOTSTRAP,
	OPT_NETWORK,
	OPT_STRING(0, "api-key", "KEY", "accept this bearer token "
	    "(repeatable; default: serve.api_keys; none: no authentication)"),
	OPT_STRING(0, "model-name", "ID", "the model's id in the API "
	    "(default: the file name without .gguf)"),
	OPT_CTX_SIZE,
	OPT_STRING(0, "max-concurrent", "N", "requests generating at once; "
	    "more get 429 (default: serve.max_concurrent, 8)"),
	OPT_STRING(0, "heartbeat", "SECONDS", "empty chunk interval while a "
	    "stream waits for its first token; 0: off (default: "
	    "serve.heartbeat_seconds, 5)"),
	OPT_SIZE(0, "max-body", 1024, 1 << 30, "largest request body; K, M "
	    "or G for KiB, MiB or GiB (default: serve.max_body_bytes)"),
	OPT_THREADS,
	OPT_REPACK,
	OPT_FLAG('v', "verbose", "log requests' backends on stderr"),
	OPT_END
};

static const struct cmd_conf_flag serve_conf[] = {
	{ "listen", "serve.listen" },
	{ "max-concurrent", "serve.max_concurrent" },
	{ "heartbeat", "serve.heartbeat_seconds" },
	{ "max-body", "serve.max_body_bytes" },
	{ "threads", "infer.threads" },
	{ "repack", "infer.repack" },
	{ NULL, NULL }
};

/* The gateway's user-chosen half: address, limits, keys. */
static int
serve_gateway_config(struct cmd_args *a, struct conf *c,
    struct gateway_config *gc, char **host)
{
	unsigned port;
	char **keys;
	int n_keys;

	memset(gc, 0, sizeof(*gc));
	if (conf_get_hostport(c, "serve.listen", host, &port) != 0)
		return cmd_usage_error(a, "serve.listen has no value");
	gc->host = *host;
	gc->port = (uint16_t)port;
	gc->max_concurrent = (int)conf_get_int(c, "serve.max_concurrent");
	gc->heartbeat_seconds = (int)conf_get_int(c,
	    "serve.heartbeat_seconds");
	gc->max_body = (size_t)conf_get_int(c, "serve.max_body_bytes");
	keys = args_get_all(a, "api-key", &n_keys);
	if (n_keys > 0) {
		gc->api_keys = keys;
		gc->n_api_keys = (size_t)n_keys;
	} else
		gc->api_keys = conf_get_list(c, "serve.api_keys",
		    &gc->n_api_keys);
	return 0;
}

/* Serves until SIGINT or SIGTERM; every thread inherits the mask. */
static int
serve_run(struct cmd_args *a, struct engine *e, struct gateway_config *gc,
    struct conf *c)
{
	struct engine_serve *es;
	char *const *aliases;
	char *cause = NULL, *warning = NULL, *port;
	const char *v;
	size_t n_aliases;
	sigset_t set;
	int sig, rc = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	aliases = conf_get_list(c, "serve.model_aliases", &n_aliases);
	es = engine_serve_new(e, gc, aliases, n_aliases, &warning, &cause);
	if (warning != NULL)
		fprintf(stderr, "swarm: warning: %s\n", warning);
	free(warning);
	if (es == NULL)
		return cmd_fail(cause);
	if ((v = args_get(a, "port-file")) != NULL) {
		port = xasprintf("%u\n", engine_serve_port(es));
		rc = path_write_atomic(v, port, &cause);
		free(port);
	}
	if (rc != 0) {
		engine_serve_free(es);
		return cmd_fail(cause);
	}
	fprintf(stderr, "swarm: serving '%s' (%s, context %u) on "
	    "http://%s:%u/v1\n", gc->model_name, engine_local(e) ? "local" :
	    "swarm", engine_n_ctx(e), gc->host, engine_serve_port(es));
	while (sigwait(&set, &sig) != 0)
		;
	fprintf(stderr, "swarm: stopping\n");
	engine_serve_free(es);
	return EXIT_OK;
}

static int
cmd_serve_exec(struct cmd_args *a)
{
	struct engine_config ec;
	struct gateway_config gc;
	struct engine *e = NULL;
	struct conf *conf;
	char *cause = NULL, *host = NULL, *name = NULL;
	const char *v;
	int rc;

	if ((conf = cmd_conf_load(0)) == NULL)
		return EXIT_ERR;
	if ((rc = cmd_conf_flags(a, conf, serve_conf)) != 0 ||
	    (rc = cmd_engine_config(a, conf, &ec)) != 0 ||
	    (rc = serve_gateway_config(a, conf, &gc, &host)) != 0)
		goto out;
	ec.batch = conf_get_bool(conf, "serve.batch");
	ec.batch_chunk = (int)conf_get_int(conf, "serve.batch_chunk");
	if ((e = cmd_engine_open(&ec, &cause)) == NULL) {
		rc = cmd_fail(cause);
		goto out;
	}
	name = (v = args_get(a, "model-name")) != NULL ? xstrdup(v) :
	    engine_serve_model_name(ec.model_path);
	gc.model_name = name;
	rc = serve_run(a, e, &gc, conf);
out:
	engine_free(e);
	conf_free(conf);
	free(host);
	free(name);
	return rc;
}

const struct cmd_entry cmd_serve_entry = {
	.noun = "serve", .verb = NULL,
	.usage = "-m MODEL.gguf [--local | --peer HOST:PORT ... | --bootstrap "
	    "HOST:PORT ...] [--listen HOST:PORT] [--api-key KEY ...] [options]",
	.summary = "serve a model over an OpenAI-compatible HTTP API",
	.opts = serve_opts,
	.min_args = 0, .max_args = 0,
	.exec = cmd_serve_exec,
};
