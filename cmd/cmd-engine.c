/*
 * What `infer run` and `serve` share before they open the engine: the
 * engine's config from their options (model, --local, --peer, --bootstrap,
 * --network, --ctx-size) over the config file, checked the same way for
 * both, and the log line printer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "conf/conf.h"
#include "core/generate.h"
#include "engine/engine.h"
#include "engine/node-run.h"
#include "ledger/ledger.h"
#include "swarm/client.h"
#include "ui/progress.h"
#include "util/xmalloc.h"
#include "util/parse.h"

void
cmd_log(void *arg, const char *msg)
{
	fprintf(stderr, "swarm: %s\n", msg);
}

/* Tests hold requests open with these; a bad value is no delay. */
static unsigned
cmd_engine_env_ms(const char *name)
{
	const char *v = getenv(name), *err;
	unsigned ms;

	if (v == NULL)
		return 0;
	ms = (unsigned)parse_uint(v, 0, 10000, &err);
	return err != NULL ? 0 : ms;
}

const struct cmd_conf_flag cmd_infer_conf[] = {
	{ "max-tokens", "infer.max_tokens" },
	{ "temp", "infer.temperature" },
	{ "top-k", "infer.top_k" },
	{ "top-p", "infer.top_p" },
	{ "min-p", "infer.min_p" },
	{ "seed", "infer.seed" },
	{ "threads", "infer.threads" },
	{ "repack", "infer.repack" },
	{ NULL, NULL }
};

void
cmd_sampling_params(struct cmd_args *a, struct conf *c,
    struct generate_params *gp, int64_t *seed)
{
	char **stops;
	int n_stop;

	generate_params_init(gp);
	gp->sampling.repeat_penalty = (float)args_num(a, "repeat-penalty",
	    gp->sampling.repeat_penalty);
	gp->max_tokens = (int)conf_get_int(c, "infer.max_tokens");
	gp->sampling.temperature = (float)conf_get_float(c,
	    "infer.temperature");
	gp->sampling.top_k = (int)conf_get_int(c, "infer.top_k");
	gp->sampling.top_p = (float)conf_get_float(c, "infer.top_p");
	gp->sampling.min_p = (float)conf_get_float(c, "infer.min_p");
	*seed = conf_get_int(c, "infer.seed");
	if (*seed < 0)
		*seed = (int64_t)((uint64_t)time(NULL) ^
		    ((uint64_t)getpid() << 16));
	gp->sampling.seed = (uint64_t)*seed;
	gp->ignore_eog = args_flag(a, "ignore-eos");
	stops = args_get_all(a, "stop", &n_stop);
	gp->stop = (const char *const *)stops;
	gp->n_stop = n_stop;
}

int
cmd_discovery(struct cmd_args *a, struct conf *c)
{
	char **boots, *cause = NULL;
	const char *v;
	int i, n, rc = 0;

	boots = args_get_all(a, "bootstrap", &n);
	for (i = 0; i < n && rc == 0; i++)
		rc = i == 0 ? conf_set_flag(c, "swarm.bootstrap", boots[i],
		    &cause) : conf_add(c, "swarm.bootstrap", boots[i], &cause);
	if (rc == 0 && (v = args_get(a, "network")) != NULL)
		rc = conf_set_flag(c, "swarm.network", v, &cause);
	if (rc != 0) {
		rc = cmd_usage_error(a, "%s", cause);
		free(cause);
	}
	return rc;
}

/* "loading model.gguf", for the progress line. */
static char *
cmd_loading(const char *path)
{
	const char *base = strrchr(path, '/');

	return xasprintf("loading %s", base != NULL ? base + 1 : path);
}

struct engine *
cmd_engine_open(struct engine_config *ec, char **cause)
{
	struct engine *e;
	char *what = cmd_loading(ec->model_path);

	ec->progress.arg = progress_new(stderr, what);
	ec->progress.fn = ec->progress.arg != NULL ? progress_model_cb : NULL;
	e = engine_open(ec, cause);
	progress_free(ec->progress.arg);
	ec->progress.fn = NULL;
	ec->progress.arg = NULL;
	free(what);
	return e;
}

struct node_run *
cmd_node_run_start(struct node_run_config *rc, char **cause)
{
	struct node_run *nr;
	char *what = cmd_loading(rc->node.model_path);

	rc->node.progress.arg = progress_new(stderr, what);
	rc->node.progress.fn = rc->node.progress.arg != NULL ?
	    progress_model_cb : NULL;
	nr = node_run_start(rc, cause);
	progress_free(rc->node.progress.arg);
	rc->node.progress.fn = NULL;
	rc->node.progress.arg = NULL;
	free(what);
	return nr;
}

/*
 * The client's key (client.key in the data directory, so that its balances
 * mean something across runs), ledger, and push auto's verdicts
 * (push-verdicts there, so that one-shot runs over the same chain do not
 * time it again each). The paths live as long as the process: the engine
 * reads them at open.
 */
static int
cmd_engine_account(struct conf *c, struct engine_config *ec)
{
	static char *key_path, *ledger_path, *push_path;
	char *cause = NULL, *dir;

	if (key_path == NULL) {
		if ((dir = conf_data_dir(&cause)) == NULL)
			return cmd_fail(cause);
		key_path = xasprintf("%s/client.key", dir);
		push_path = xasprintf("%s/push-verdicts", dir);
		free(dir);
	}
	if (ec->receipts && ledger_path == NULL &&
	    (ledger_path = conf_get_path(c, "ledger.path", &cause)) == NULL)
		return cmd_fail(cause);
	ec->identity_path = key_path;
	ec->push_memo_path = push_path;
	ec->ledger_path = ec->receipts ? ledger_path : NULL;
	return 0;
}

int
cmd_engine_config(struct cmd_args *a, struct conf *c,
    struct engine_config *ec)
{
	char **peers;
	const char *v;
	int n_peers, n_boots, rc;

	engine_config_init(ec);
	ec->model_path = args_get(a, "model");
	ec->local = args_flag(a, "local");
	peers = args_get_all(a, "peer", &n_peers);
	args_get_all(a, "bootstrap", &n_boots);
	if (ec->model_path == NULL)
		return cmd_usage_error(a, "a model is needed (-m MODEL.gguf)");
	if (ec->local && n_peers + n_boots > 0)
		return cmd_usage_error(a, "give --local or --peer/--bootstrap, "
		    "not both");
	if (n_peers > 0 && n_boots > 0)
		return cmd_usage_error(a, "give --peer or --bootstrap, not both");
	ec->n_ctx = (uint32_t)args_int(a, "ctx-size", 0);
	if ((rc = cmd_discovery(a, c)) != 0)
		return rc;
	ec->peers = peers;
	ec->n_peers = (size_t)n_peers;
	ec->network = conf_get_str(c, "swarm.network");
	if (!ec->local && n_peers == 0) {
		ec->bootstrap = conf_get_list(c, "swarm.bootstrap",
		    &ec->n_bootstrap);
		if (ec->n_bootstrap == 0)
			return cmd_usage_error(a, "no swarm to route through: "
			    "give --bootstrap HOST:PORT (or set "
			    "swarm.bootstrap) or --peer HOST:PORT, or run "
			    "every block here with --local");
	}
	ec->threads = (int)conf_get_int(c, "infer.threads");
	ec->repack = conf_get_bool(c, "infer.repack");
	ec->verify_rate = conf_get_float(c, "client.verify_rate");
	v = conf_get_str(c, "swarm.push");
	ec->push = v == NULL || strcmp(v, "auto") == 0 ? CLIENT_PUSH_AUTO :
	    parse_bool(v) == 1 ? CLIENT_PUSH_ON : CLIENT_PUSH_OFF;
	ec->plain_http = !conf_get_bool(c, "swarm.channels");
	ec->max_price = conf_get_float(c, "client.max_price");
	ec->receipts = conf_get_bool(c, "ledger.enabled");
	if (cmd_engine_account(c, ec) != 0)
		return EXIT_ERR;
	ec->test_eval_delay_ms = cmd_engine_env_ms("SWARM_TEST_EVAL_DELAY_MS");
	ec->test_prompt_delay_ms =
	    cmd_engine_env_ms("SWARM_TEST_PROMPT_DELAY_MS");
	if (args_flag(a, "verbose"))
		ec->log = cmd_log;
	return 0;
}

int
cmd_ledger_args(struct cmd_args *a, int with_filter, char **path,
    struct ledger_filter *f)
{
	struct conf *c;
	char *cause = NULL;
	const char *v;

	memset(f, 0, sizeof(*f));
	*path = NULL;
	if ((v = args_get(a, "db")) != NULL)
		*path = xstrdup(v);
	else {
		if ((c = cmd_conf_load(0)) == NULL)
			return EXIT_ERR;
		*path = conf_get_path(c, "ledger.path", &cause);
		conf_free(c);
		if (*path == NULL)
			return cmd_fail(cause);
	}
	if (!with_filter)
		return 0;
	f->peer = args_get(a, "peer");
	f->model = args_get(a, "model");
	if ((v = args_get(a, "since")) != NULL && ledger_parse_when(v,
	    (int64_t)time(NULL), &f->since, &cause) != 0) {
		free(*path);
		*path = NULL;
		cmd_usage_error(a, "--since: %s", cause);
		free(cause);
		return EXIT_USAGE;
	}
	return 0;
}
