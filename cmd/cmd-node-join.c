/*
 * swarm node join: serve a span of a model's blocks to the swarm until told
 * to leave (SIGINT, SIGTERM or `swarm node leave`), then drain and exit 0.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "conf/conf.h"
#include "core/gguf.h"
#include "core/model.h"
#include "net/dht.h"
#include "swarm/balance.h"
#include "swarm/directory-dht.h"
#include "swarm/identity.h"
#include "swarm/model-id.h"
#include "swarm/node.h"
#include "util/parse.h"
#include "util/path.h"
#include "util/xmalloc.h"

static const struct cmd_opt node_join_opts[] = {
	{ 'm', "model", "FILE", "the model (GGUF file)" },
	{ 'b', "blocks", "A:B", "serve blocks A to B-1, or auto: the blocks "
	    "the swarm serves least (default)" },
	{ 0, "num-blocks", "N", "how many blocks auto picks (default 0: as "
	    "many as fit in memory)" },
	{ 'l', "listen", "HOST:PORT", "listen address (default "
	    "127.0.0.1:7400; port 0: any free port)" },
	{ 0, "public-addr", "HOST:PORT", "the address announced to others "
	    "(default: the listen address)" },
	{ 't', "threads", "N", "worker threads (default: the number of cores)" },
	{ 0, "repack", "on|off", "repack quantized matrices at load for faster "
	    "kernels (default on; off: load at once, use the file's pages)" },
	{ 0, "max-sessions", "N", "clients served at once (default 16)" },
	{ 0, "max-context", "N", "positions per session (default: the "
	    "model's)" },
	{ 0, "session-timeout", "SECONDS", "free sessions idle this long "
	    "(default 300)" },
	{ 0, "drain-timeout", "SECONDS", "when leaving, wait this long for "
	    "open sessions (default 10)" },
	{ 0, "port-file", "FILE", "write the port listened on to FILE" },
	{ 0, "bootstrap", "HOST:PORT", "join the swarm through this node "
	    "(repeatable; default: swarm.bootstrap)" },
	{ 0, "new-swarm", NULL, "start a new swarm instead of joining one" },
	{ 0, "network", "NAME", "the swarm's name (default: swarm.network)" },
	{ 0, NULL, NULL, NULL }
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

/*
 * Discovery: a DHT node on UDP at the HTTP port's number, announcing the
 * node's signed record. Off unless --new-swarm or a bootstrap peer is given
 * (flag or swarm.bootstrap), so a node can also serve a fixed peer list.
 */
struct node_join_dht {
	struct conf		*conf;
	int			 on;
	int			 new_swarm;
	const char		*network;
	char *const		*peers;
	size_t			 npeers;
	struct identity		 id;
	struct dht		*dht;
	struct directory	*dir;
};

static int
node_join_dht_init(struct cmd_args *a, struct node_join_dht *d,
    struct node_config *cfg)
{
	char *cause = NULL, **vals;
	const char *v, *err;
	int i, nv, rc;

	memset(d, 0, sizeof(*d));
	if ((d->conf = cmd_conf_load(0)) == NULL)
		return EXIT_ERR;
	vals = args_get_all(a, "bootstrap", &nv);
	d->new_swarm = args_flag(a, "new-swarm");
	if (d->new_swarm && nv > 0)
		return cmd_usage_error(a, "--new-swarm starts alone: no "
		    "--bootstrap with it");
	for (i = 0; i < nv; i++) {
		rc = i == 0 ? conf_set_flag(d->conf, "swarm.bootstrap",
		    vals[i], &cause) : conf_add(d->conf, "swarm.bootstrap",
		    vals[i], &cause);
		if (rc != 0) {
			rc = cmd_usage_error(a, "%s", cause);
			free(cause);
			return rc;
		}
	}
	if ((v = args_get(a, "network")) != NULL &&
	    conf_set_flag(d->conf, "swarm.network", v, &cause) != 0) {
		rc = cmd_usage_error(a, "%s", cause);
		free(cause);
		return rc;
	}
	d->network = conf_get_str(d->conf, "swarm.network");
	if (!d->new_swarm)
		d->peers = conf_get_list(d->conf, "swarm.bootstrap", &d->npeers);
	d->on = d->new_swarm || d->npeers > 0;
	if (!d->on)
		return EXIT_OK;
	if (identity_load(cfg->data_dir, &d->id, &cause) != 0)
		return cmd_fail(cause);
	cfg->peer_id = d->id.peer_id;
	/* Tests announce every second to see dead nodes go in seconds. */
	if ((v = getenv("SWARM_ANNOUNCE_INTERVAL")) != NULL) {
		cfg->announce_interval = (double)parse_uint(v, 1,
		    DIRECTORY_DHT_REFRESH_MAX, &err);
		if (err != NULL)
			return cmd_error("SWARM_ANNOUNCE_INTERVAL '%s' is %s",
			    v, err);
	}
	return EXIT_OK;
}

static int
node_join_dht_start(struct node_join_dht *d, struct node *n,
    const struct node_config *cfg, char **cause)
{
	struct gguf_file *f;
	uint32_t n_block = 0;
	char *c = NULL, *msg;
	size_t joined = 0;
	int tries;

	if (!d->on) {
		node_join_log(NULL, "not in a DHT: use --new-swarm or "
		    "--bootstrap HOST:PORT to be found by clients");
		return 0;
	}
	if ((f = gguf_open(cfg->model_path, cause)) == NULL)
		return -1;
	if (model_id_block_count(f, &n_block) != 0)
		n_block = 0;
	gguf_close(f);
	if ((d->dht = dht_new(NULL, node_port(n), d->network, cause)) == NULL)
		return -1;
	d->dir = directory_dht_new(d->dht, &d->id);
	directory_dht_set_model(d->dir, n_block,
	    (uint32_t)cfg->announce_interval);
	if (d->new_swarm) {
		msg = xasprintf("new swarm '%s': others join with "
		    "--bootstrap %s", d->network, node_addr(n));
		goto done;
	}
	/*
	 * Nodes started together: the bootstrap node may be a moment behind.
	 * After that, announcements keep trying.
	 */
	for (tries = 0; tries < 10 && joined == 0; tries++) {
		free(c);
		c = NULL;
		joined = directory_dht_bootstrap(d->dht, d->peers, d->npeers,
		    1000, &c);
	}
	if (joined == 0) {
		msg = xasprintf("%s; trying again at each announcement", c);
		directory_dht_set_retry(d->dir, d->peers, d->npeers);
		free(c);
	} else
		msg = xasprintf("joined swarm '%s' as peer %.16s",
		    d->network, d->id.peer_id);
done:
	node_join_log(NULL, msg);
	free(msg);
	node_set_announcer(n, d->dir);
	return 0;
}

/*
 * --blocks auto: the span of the wanted length that the swarm serves least
 * (every block when num_blocks is 0), looked up with a short-lived client.
 */
static int
node_join_dht_auto(struct node_join_dht *d, struct node_config *cfg,
    uint32_t num_blocks, char **cause)
{
	struct gguf_file *f;
	struct dht *dht = NULL;
	struct directory *dir = NULL;
	struct peer_record *recs = NULL;
	char model_id[MODEL_ID_MAX], *c = NULL, *msg;
	uint32_t n_block;
	size_t n = 0, joined = 0;
	long page, pages;
	int tries, rc = -1;

	if ((f = gguf_open(cfg->model_path, cause)) == NULL)
		return -1;
	if (model_id_compute(f, model_id, sizeof(model_id)) != 0 ||
	    model_id_block_count(f, &n_block) != 0) {
		set_cause(cause, "cannot tell the blocks of '%s'",
		    cfg->model_path);
		gguf_close(f);
		return -1;
	}
	/* 0: as many as fit in nine tenths of the memory free now. */
	if (num_blocks == 0) {
		page = sysconf(_SC_PAGESIZE);
		pages = sysconf(_SC_AVPHYS_PAGES);
		num_blocks = balance_blocks_that_fit(f, n_block,
		    page > 0 && pages > 0 ? (uint64_t)pages *
		    (uint64_t)page / 10 * 9 : UINT64_MAX);
	}
	gguf_close(f);
	if (!d->new_swarm) {
		if ((dht = dht_new(NULL, 0, d->network, cause)) == NULL)
			return -1;
		for (tries = 0; tries < 10 && joined == 0; tries++) {
			free(c);
			c = NULL;
			joined = directory_dht_bootstrap(dht, d->peers,
			    d->npeers, 1000, &c);
		}
		if (joined > 0) {
			dir = directory_dht_new(dht, NULL);
			if (dir->ops->lookup(dir, model_id, &recs, &n, &c) != 0)
				n = 0;
		}
		if (c != NULL) {
			msg = xasprintf("blocks auto: %s", c);
			node_join_log(NULL, msg);
			free(msg);
		}
	}
	balance_choose_span(recs, n, n_block, num_blocks, &cfg->block_begin,
	    &cfg->block_end);
	msg = xasprintf("blocks auto: %u:%u of %u, the least served by the "
	    "%zu node%s seen", cfg->block_begin, cfg->block_end, n_block, n,
	    n == 1 ? "" : "s");
	node_join_log(NULL, msg);
	free(msg);
	rc = 0;
	free(c);
	free(recs);
	if (dir != NULL)
		dir->ops->free(dir);
	dht_free(dht);
	return rc;
}

static void
node_join_dht_release(struct node_join_dht *d)
{
	if (d->dir != NULL)
		d->dir->ops->free(d->dir);
	dht_free(d->dht);
	identity_release(&d->id);
	conf_free(d->conf);
}

static int
node_join_parse_blocks(const char *v, uint32_t *a, uint32_t *b)
{
	const char *colon = strchr(v, ':'), *err;
	char *first;

	if (colon == NULL)
		return -1;
	first = xstrndup(v, (size_t)(colon - v));
	*a = (uint32_t)parse_uint(first, 0, 1 << 20, &err);
	free(first);
	if (err != NULL)
		return -1;
	*b = (uint32_t)parse_uint(colon + 1, 1, 1 << 20, &err);
	return err != NULL || *a >= *b ? -1 : 0;
}

static int
cmd_node_join_exec(struct cmd_args *a)
{
	struct node_config cfg;
	struct node_join_signals sigs;
	struct node_join_dht disc;
	struct node *n = NULL;
	struct conf *conf;
	pthread_t sigthread;
	const char *path, *v, *err;
	char *cause = NULL, *data_dir = NULL, *delay, *model = NULL;
	char *listen = NULL, *public_addr = NULL;
	uint64_t timeout = 300;
	uint32_t num_blocks;
	int rc = EXIT_ERR, have_thread = 0, auto_blocks = 0;
	FILE *fp;

	node_config_init(&cfg);
	memset(&disc, 0, sizeof(disc));
	if ((conf = cmd_conf_load(0)) == NULL)
		return EXIT_ERR;
	if ((rc = cmd_conf_flags(a, conf, node_join_conf)) != 0) {
		conf_free(conf);
		return rc;
	}
	if ((v = args_get(a, "session-timeout")) != NULL) {
		timeout = parse_uint(v, 1, 1 << 30, &err);
		if (err != NULL) {
			conf_free(conf);
			return cmd_usage_error(a, "--session-timeout: '%s' is "
			    "%s", v, err);
		}
	}
	if ((v = args_get(a, "drain-timeout")) != NULL) {
		cfg.drain_timeout = (double)parse_uint(v, 0, 3600, &err);
		if (err != NULL) {
			conf_free(conf);
			return cmd_usage_error(a, "--drain-timeout: '%s' is %s",
			    v, err);
		}
	}
	if ((v = conf_get_str(conf, "node.model")) != NULL)
		model = xstrdup(v);
	v = conf_get_str(conf, "node.blocks");
	num_blocks = (uint32_t)conf_get_int(conf, "node.num_blocks");
	if (v == NULL || strcmp(v, "auto") == 0)
		auto_blocks = 1;
	if (!auto_blocks && node_join_parse_blocks(v, &cfg.block_begin,
	    &cfg.block_end) != 0)
		rc = cmd_usage_error(a, "--blocks: '%s' is not A:B with A < B",
		    v);
	else if (model == NULL)
		rc = cmd_usage_error(a, "a model is needed (-m MODEL.gguf)");
	else
		rc = 0;
	listen = xstrdup(conf_get_str(conf, "node.listen"));
	if ((v = conf_get_str(conf, "node.public_addr")) != NULL)
		public_addr = xstrdup(v);
	cfg.threads = (int)conf_get_int(conf, "node.threads");
	cfg.repack = conf_get_bool(conf, "node.repack");
	cfg.max_sessions = (uint32_t)conf_get_int(conf, "node.max_sessions");
	cfg.max_context = (uint32_t)conf_get_int(conf, "node.max_context");
	conf_free(conf);
	if (rc != 0)
		goto out;
	rc = EXIT_ERR;
	path = model;
	cfg.model_path = path;
	cfg.session_timeout = (double)timeout;
	cfg.listen = listen;
	cfg.public_addr = public_addr;
	/* Tests slow steps down to kill a node in the middle of a run. */
	if ((delay = getenv("SWARM_TEST_STEP_DELAY_MS")) != NULL) {
		cfg.step_delay = parse_uint(delay, 0, 10000, &err) / 1000.0;
		if (err != NULL)
			cfg.step_delay = 0;
	}
	if ((data_dir = conf_data_dir(&cause)) == NULL ||
	    path_mkdirs(data_dir, 0700, &cause) != 0)
		goto fail;
	cfg.data_dir = data_dir;
	cfg.log = node_join_log;
	if ((rc = node_join_dht_init(a, &disc, &cfg)) != EXIT_OK)
		goto out;
	rc = EXIT_ERR;
	if (auto_blocks && !disc.on) {
		rc = cmd_usage_error(a, "which blocks to serve? --blocks auto "
		    "asks the swarm (--bootstrap HOST:PORT or --new-swarm); "
		    "else give --blocks A:B");
		goto out;
	}
	if (auto_blocks && node_join_dht_auto(&disc, &cfg, num_blocks,
	    &cause) != 0)
		goto fail;

	/* Every thread inherits the mask; one thread takes the signals. */
	sigemptyset(&sigs.set);
	sigaddset(&sigs.set, SIGINT);
	sigaddset(&sigs.set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs.set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((n = node_new(&cfg, &cause)) == NULL)
		goto fail;
	sigs.node = n;
	if (pthread_create(&sigthread, NULL, node_join_sigwait, &sigs) != 0) {
		cause = xstrdup("cannot start a thread");
		goto fail;
	}
	have_thread = 1;
	if ((v = args_get(a, "port-file")) != NULL) {
		char *tmp = xasprintf("%s.tmp", v);

		/* Written whole, then renamed: a reader never sees half. */
		if ((fp = fopen(tmp, "w")) == NULL ||
		    fprintf(fp, "%u\n", node_port(n)) < 0 || fclose(fp) != 0 ||
		    rename(tmp, v) != 0) {
			cause = xasprintf("cannot write '%s': %s", v,
			    strerror(errno));
			free(tmp);
			goto fail;
		}
		free(tmp);
	}
	{
		char *msg = xasprintf("serving blocks %u:%u of %s on %s "
		    "(model %s, %.0f tokens/s per block)", cfg.block_begin,
		    cfg.block_end, path, node_addr(n), node_model_id(n),
		    node_throughput(n));

		node_join_log(NULL, msg);
		free(msg);
	}
	if (public_addr == NULL && (strncmp(listen, "0.0.0.0:", 8) == 0 ||
	    strncmp(listen, "[::]:", 5) == 0))
		node_join_log(NULL, "listening on every interface: give others "
		    "a reachable address with --public-addr HOST:PORT");
	if (node_join_dht_start(&disc, n, &cfg, &cause) != 0)
		goto fail;
	if (node_wait(n, &cause) != 0)
		goto fail;
	node_join_log(NULL, "stopped");
	rc = EXIT_OK;
	goto out;
fail:
	rc = cmd_fail(cause);
out:
	if (have_thread) {
		pthread_cancel(sigthread);
		pthread_join(sigthread, NULL);
	}
	node_free(n);
	node_join_dht_release(&disc);
	free(data_dir);
	free(model);
	free(listen);
	free(public_addr);
	return rc;
}

const struct cmd_entry cmd_node_join_entry = {
	.noun = "node", .verb = "join",
	.usage = "-m MODEL.gguf --blocks A:B [--listen HOST:PORT] [options]",
	.summary = "serve a span of a model's blocks to the swarm",
	.opts = node_join_opts,
	.min_args = 0, .max_args = 0,
	.exec = cmd_node_join_exec,
};
