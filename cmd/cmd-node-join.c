/*
 * swarm node join: serve a span of a model's blocks to the swarm until told
 * to leave (SIGINT, SIGTERM or `swarm node leave`), then drain and exit 0.
 * src/engine/node-run.c picks the span, starts the node and puts it in the
 * DHT; this file reads the options and takes the signals.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "conf/conf.h"
#include "engine/node-run.h"
#include "swarm/directory-dht.h"
#include "swarm/node.h"
#include "util/parse.h"
#include "util/path.h"
#include "util/xmalloc.h"

static const struct opt node_join_opts[] = {
	OPT_MODEL,
	OPT_STRING('b', "blocks", "A:B", "serve blocks A to B-1, or auto: the "
	    "blocks the swarm serves least (default)"),
	OPT_STRING(0, "num-blocks", "N", "how many blocks auto picks (default "
	    "0: as many as fit in memory)"),
	OPT_STRING('l', "listen", "HOST:PORT", "listen address (default "
	    "127.0.0.1:7400; port 0: any free port)"),
	OPT_STRING(0, "public-addr", "HOST:PORT", "the address announced to "
	    "others (default: the listen address)"),
	OPT_THREADS,
	OPT_REPACK,
	OPT_STRING(0, "max-sessions", "N", "clients served at once (default "
	    "16)"),
	OPT_STRING(0, "max-context", "N", "positions per session (default: "
	    "the model's)"),
	OPT_DURATION(0, "session-timeout", 1, 1 << 30, "free sessions idle "
	    "this long (default 300)"),
	OPT_DURATION(0, "drain-timeout", 0, 3600, "when leaving, wait this "
	    "long for open sessions (default 10)"),
	OPT_PORT_FILE,
	OPT_STRING(0, "bootstrap", "HOST:PORT", "join the swarm through this "
	    "node (repeatable; default: swarm.bootstrap)"),
	OPT_FLAG(0, "new-swarm", "start a new swarm instead of joining one"),
	OPT_STRING(0, "identity", "FILE", "the node's key file (default: one "
	    "per listen address in the data directory)"),
	OPT_NETWORK,
	OPT_FLAG(0, "pull", "first pull the span into the shard store: from "
	    "-m URL, or by id from the swarm's seeders"),
	OPT_END
};

/* Options that stand for config keys (flag > env > file > default). */
static const struct cmd_conf_flag node_join_conf[] = {
	{ "model", "node.model" },
	{ "blocks", "node.blocks" },
	{ "num-blocks", "node.num_blocks" },
	{ "listen", "node.listen" },
	{ "public-addr", "node.public_addr" },
	{ "threads", "node.threads" },
	{ "repack", "node.repack" },
	{ "max-sessions", "node.max_sessions" },
	{ "max-context", "node.max_context" },
	{ NULL, NULL }
};

static void
node_join_log(void *arg, const char *msg)
{
	struct tm tm;
	time_t t = time(NULL);
	char ts[32];

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
	fprintf(stderr, "%s swarm node: %s\n", ts, msg);
}

struct node_join_signals {
	sigset_t	 set;
	struct node	*node;
};

static void *
node_join_sigwait(void *arg)
{
	struct node_join_signals *s = arg;
	int sig;

	for (;;) {
		if (sigwait(&s->set, &sig) != 0)
			continue;
		node_join_log(NULL, sig == SIGINT ? "interrupted" :
		    "terminated");
		node_drain(s->node);
	}
	return NULL;
}

/* --bootstrap (repeatable), --network and --new-swarm over the config. */
static int
node_join_discovery(struct cmd_args *a, struct conf *c,
    struct node_run_config *rc)
{
	const char *v, *err;
	int nv, r;

	args_get_all(a, "bootstrap", &nv);
	rc->new_swarm = args_flag(a, "new-swarm");
	if (rc->new_swarm && nv > 0)
		return cmd_usage_error(a, "--new-swarm starts alone: no "
		    "--bootstrap with it");
	if ((r = cmd_discovery(a, c)) != 0)
		return r;
	rc->network = conf_get_str(c, "swarm.network");
	rc->identity_path = args_get(a, "identity");
	rc->pull = args_flag(a, "pull");
	if (!rc->new_swarm)
		rc->bootstrap = conf_get_list(c, "swarm.bootstrap",
		    &rc->n_bootstrap);
	/* Tests announce every second to see dead nodes go in seconds. */
	if ((v = getenv("SWARM_ANNOUNCE_INTERVAL")) != NULL) {
		rc->node.announce_interval = (double)parse_uint(v, 1,
		    DIRECTORY_DHT_REFRESH_MAX, &err);
		if (err != NULL)
			return cmd_error("SWARM_ANNOUNCE_INTERVAL '%s' is %s",
			    v, err);
	}
	return 0;
}

/* The node's config from the options over the config file. */
static int
node_join_config(struct cmd_args *a, struct conf *c,
    struct node_run_config *rc)
{
	struct node_config *cfg = &rc->node;
	const char *v, *err;
	char *cause = NULL;

	cfg->session_timeout = args_num(a, "session-timeout",
	    cfg->session_timeout);
	cfg->drain_timeout = args_num(a, "drain-timeout", cfg->drain_timeout);
	v = conf_get_str(c, "node.blocks");
	rc->num_blocks = (uint32_t)conf_get_int(c, "node.num_blocks");
	rc->auto_blocks = v == NULL || strcmp(v, "auto") == 0;
	if (!rc->auto_blocks && parse_span(v, 0, 1 << 20, &cfg->block_begin,
	    &cfg->block_end, &err) != 0)
		return cmd_usage_error(a, "--blocks: '%s' is not A:B with A < B",
		    v);
	if ((cfg->model_path = conf_get_str(c, "node.model")) == NULL)
		return cmd_usage_error(a, "a model is needed (-m MODEL.gguf)");
	cfg->listen = conf_get_str(c, "node.listen");
	cfg->public_addr = conf_get_str(c, "node.public_addr");
	cfg->threads = (int)conf_get_int(c, "node.threads");
	cfg->repack = conf_get_bool(c, "node.repack");
	cfg->batch = conf_get_bool(c, "node.batch");
	cfg->seed = conf_get_bool(c, "node.seed");
	cfg->max_sessions = (uint32_t)conf_get_int(c, "node.max_sessions");
	cfg->max_sessions_per_client = (uint32_t)conf_get_int(c,
	    "node.max_sessions_per_client");
	cfg->max_context = (uint32_t)conf_get_int(c, "node.max_context");
	cfg->price = conf_get_float(c, "node.price");
	cfg->credit_limit = conf_get_float(c, "node.credit_limit");
	cfg->free_units = (uint64_t)conf_get_int(c, "node.free_units");
	if (conf_get_bool(c, "ledger.enabled") &&
	    (rc->ledger_path = conf_get_path(c, "ledger.path", &cause)) == NULL)
		return cmd_fail(cause);
	cfg->ledger_path = rc->ledger_path;
	/* Tests slow steps down to kill a node in the middle of a run. */
	if ((v = getenv("SWARM_TEST_STEP_DELAY_MS")) != NULL) {
		cfg->step_delay = parse_uint(v, 0, 10000, &err) / 1000.0;
		if (err != NULL)
			cfg->step_delay = 0;
	}
	cfg->log = node_join_log;
	return 0;
}

/* Starts the node, writes the port file, joins, serves until a signal. */
static int
node_join_run(struct cmd_args *a, struct node_run_config *rc)
{
	struct node_join_signals sigs;
	struct node_run *nr;
	pthread_t sigthread;
	char *cause = NULL, *port;
	const char *v;
	int rc_ = -1, have_thread = 0;

	/* Every thread inherits the mask; one thread takes the signals. */
	sigemptyset(&sigs.set);
	sigaddset(&sigs.set, SIGINT);
	sigaddset(&sigs.set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs.set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((nr = cmd_node_run_start(rc, &cause)) == NULL)
		return cmd_fail(cause);
	sigs.node = node_run_node(nr);
	if (pthread_create(&sigthread, NULL, node_join_sigwait, &sigs) != 0)
		cause = xstrdup("cannot start a thread");
	else
		have_thread = 1;
	/* The port file says the node takes sessions: its id is known. */
	if (have_thread && (v = args_get(a, "port-file")) != NULL &&
	    node_wait_model_id(sigs.node) == 0) {
		port = xasprintf("%u\n", node_port(sigs.node));
		rc_ = path_write_atomic(v, port, &cause);
		free(port);
		if (rc_ != 0)
			goto out;
	}
	if (have_thread && node_run_join(nr, &cause) == 0 &&
	    node_wait(sigs.node, &cause) == 0) {
		node_join_log(NULL, "stopped");
		rc_ = 0;
		/* A hash that failed drains the node: that is an error. */
		if (node_model_id(sigs.node)[0] == '\0') {
			cause = xstrdup("stopped before its weights were "
			    "hashed");
			rc_ = -1;
		}
	}
out:
	if (have_thread) {
		pthread_cancel(sigthread);
		pthread_join(sigthread, NULL);
	}
	node_run_free(nr);
	return rc_ == 0 ? EXIT_OK : cmd_fail(cause);
}

static int
cmd_node_join_exec(struct cmd_args *a)
{
	struct node_run_config rc;
	struct conf *conf;
	char *cause = NULL, *data_dir = NULL;
	int r;

	memset(&rc, 0, sizeof(rc));
	node_config_init(&rc.node);
	if ((conf = cmd_conf_load(0)) == NULL)
		return EXIT_ERR;
	if ((r = cmd_conf_flags(a, conf, node_join_conf)) != 0 ||
	    (r = node_join_config(a, conf, &rc)) != 0)
		goto out;
	if ((data_dir = conf_data_dir(&cause)) == NULL ||
	    path_mkdirs(data_dir, 0700, &cause) != 0) {
		r = cmd_fail(cause);
		goto out;
	}
	rc.node.data_dir = data_dir;
	if ((r = node_join_discovery(a, conf, &rc)) != 0)
		goto out;
	if (rc.auto_blocks && !node_run_in_dht(&rc)) {
		r = cmd_usage_error(a, "which blocks to serve? --blocks auto "
		    "asks the swarm (--bootstrap HOST:PORT or --new-swarm); "
		    "else give --blocks A:B");
		goto out;
	}
	r = node_join_run(a, &rc);
out:
	free(data_dir);
	free(rc.ledger_path);
	conf_free(conf);
	return r;
}

const struct cmd_entry cmd_node_join_entry = {
	.noun = "node", .verb = "join",
	.usage = "-m MODEL.gguf [--blocks A:B | auto] [--listen HOST:PORT] "
	    "[--new-swarm | --bootstrap HOST:PORT ...] [options]",
	.summary = "serve a span of a model's blocks to the swarm",
	.opts = node_join_opts,
	.min_args = 0, .max_args = 0,
	.exec = cmd_node_join_exec,
};
