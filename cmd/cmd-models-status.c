/*
 * swarm models status [MODEL_ID | MODEL.gguf]: what the swarm serves, read
 * from the DHT as a short-lived client node. Per model: its blocks, how
 * many peers serve each (draining peers do not count), the gaps, every
 * peer's span, throughput, load and state, and whether the model is
 * complete. Without an argument it lists every model announced in the
 * network.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd.h"
#include "conf/conf.h"
#include "engine/survey.h"
#include "swarm/model-id.h"
#include "swarm/record.h"
#include "util/clock.h"
#include "util/parse.h"
#include "util/xmalloc.h"

static const struct opt models_status_opts[] = {
	OPT_FLAG(0, "json", "print one JSON object"),
	OPT_STRING('b', "bootstrap", "HOST:PORT", "a node to join the swarm "
	    "through (repeatable; default: swarm.bootstrap)"),
	OPT_STRING(0, "network", "NAME", "the swarm's name (default: "
	    "swarm.network)"),
	OPT_DURATION(0, "timeout", 0.1, 600, "how long to wait for the DHT "
	    "(default 5)"),
	OPT_DURATION(0, "wait", 0, 3600, "ask again until every model is "
	    "complete, for up to this long (default 0: once)"),
	OPT_END
};

static void
models_status_print_run(void *arg, uint32_t a, uint32_t b, uint32_t n)
{
	if (b - a == 1)
		printf("    block %" PRIu32 " has ", a);
	else
		printf("    blocks %" PRIu32 ":%" PRIu32 " have ", a, b);
	if (n == 0)
		printf("no peer\n");
	else
		printf("%" PRIu32 " peer%s\n", n, n == 1 ? "" : "s");
}

static void
models_status_print(const struct survey_model *m, int64_t now)
{
	const struct peer_record *r;
	char span[32];
	size_t i;

	printf("model %s\n", m->model_id);
	if (m->n_block != 0)
		printf("  blocks %" PRIu32 ", %s\n", m->n_block,
		    m->complete ? "complete" : "incomplete");
	else
		printf("  blocks unknown (no record gives the count), "
		    "incomplete\n");
	survey_runs(m, models_status_print_run, NULL);
	printf("  %-16s %-22s %-7s %12s %5s %-9s %s\n", "PEER", "ADDRESS",
	    "SPAN", "TOKENS/S", "LOAD", "STATE", "AGE");
	for (i = 0; i < m->n; i++) {
		r = &m->ents[i].rec;
		snprintf(span, sizeof(span), "%" PRIu32 ":%" PRIu32,
		    r->block_begin, r->block_end);
		printf("  %-16.16s %-22s %-7s %12.1f %5.2f %-9s %" PRId64 "s\n",
		    r->peer_id, r->addr, span, r->throughput, r->load,
		    peer_state_name(r->state),
		    now > r->timestamp ? now - r->timestamp : 0);
	}
}

/* Exit status 3 (documented): some model shown is not complete. */
#define MODELS_STATUS_INCOMPLETE	3

/* Is every model seen complete (and one seen at all)? */
static int
models_status_complete(const struct survey *s)
{
	size_t i;

	for (i = 0; i < s->n_models; i++)
		if (!s->models[i].complete)
			return 0;
	return s->n_models > 0;
}

/* The survey, asked again every half second until complete or wait ends. */
static int
models_status_survey(const char *network, char *const *peers, size_t npeers,
    int timeout_ms, const char *want, uint32_t file_n_block, double wait,
    struct survey *s, char **cause)
{
	double end = clock_now() + wait;

	for (;;) {
		if (survey_swarm(network, peers, npeers, timeout_ms, want,
		    file_n_block, s, cause) != 0)
			return -1;
		if (models_status_complete(s) || clock_now() + 0.5 > end)
			return 0;
		survey_release(s);
		memset(s, 0, sizeof(*s));
		clock_sleep(0.5);
	}
}

/* The model asked for: an id, or a file whose id and blocks are read. */
static int
models_status_want(struct cmd_args *a, char *id, const char **want,
    uint32_t *n_block)
{
	const char *arg;
	char *cause = NULL;
	size_t len;

	*want = NULL;
	*n_block = 0;
	if (a->argc == 0)
		return 0;
	arg = a->argv[0];
	/* A file by its name or existence; else it names an id. */
	len = strlen(arg);
	if (access(arg, F_OK) != 0 && model_id_valid(arg) &&
	    (len < 5 || strcmp(arg + len - 5, ".gguf") != 0)) {
		*want = arg;
		return 0;
	}
	if (survey_model_file(arg, id, n_block, &cause) != 0)
		return cmd_fail(cause);
	*want = id;
	return 0;
}

static int
models_status_exec(struct cmd_args *a)
{
	struct conf *c;
	struct survey s;
	char id[MODEL_ID_MAX], *cause = NULL, *const *peers;
	const char *network, *want;
	uint32_t file_n_block;
	size_t i, npeers;
	int64_t now;
	int rc, timeout_ms;

	memset(&s, 0, sizeof(s));
	if ((c = cmd_conf_load(0)) == NULL)
		return EXIT_ERR;
	if ((rc = models_status_want(a, id, &want, &file_n_block)) != 0)
		goto out;
	timeout_ms = (int)(args_num(a, "timeout", 5) * 1000);
	if ((rc = cmd_discovery(a, c)) != 0)
		goto out;
	network = conf_get_str(c, "swarm.network");
	peers = conf_get_list(c, "swarm.bootstrap", &npeers);
	if (npeers == 0) {
		rc = cmd_usage_error(a, "no bootstrap peer: give --bootstrap "
		    "HOST:PORT or set swarm.bootstrap");
		goto out;
	}
	if (models_status_survey(network, peers, npeers, timeout_ms, want,
	    file_n_block, args_num(a, "wait", 0), &s, &cause) != 0) {
		rc = cmd_fail(cause);
		goto out;
	}
	now = (int64_t)time(NULL);
	if (args_flag(a, "json")) {
		rc = cmd_print_json(survey_json(&s, network, now));
		if (rc == EXIT_OK && !models_status_complete(&s))
			rc = MODELS_STATUS_INCOMPLETE;
		goto out;
	}
	if (s.n_models == 0)
		printf("no model is served in network '%s'\n", network);
	for (i = 0; i < s.n_models; i++) {
		if (i > 0)
			putchar('\n');
		models_status_print(&s.models[i], now);
	}
	if (!models_status_complete(&s))
		rc = MODELS_STATUS_INCOMPLETE;
out:
	survey_release(&s);
	conf_free(c);
	return rc;
}

const struct cmd_entry cmd_models_status_entry = {
	.noun = "models", .verb = "status",
	.usage = "[--json] [-b HOST:PORT ...] [--network NAME] "
	    "[--wait SECONDS] [MODEL_ID | MODEL.gguf]",
	.summary = "show which peers serve which blocks of each model",
	.opts = models_status_opts,
	.min_args = 0, .max_args = 1,
	.exec = models_status_exec,
};
