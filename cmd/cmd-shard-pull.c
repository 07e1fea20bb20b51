/*
 * swarm shard pull SOURCE [--blocks A:B|all] [--head]: fetch a span of a
 * model into the store from an HTTP origin or from seeding peers
 * (src/shard/pull.c); a progress line on a terminal, one line or one JSON
 * document at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "conf/conf.h"
#include "engine/shard-pull.h"
#include "ui/progress.h"

/* The options into sc; 0, or EXIT_USAGE after saying why. */
static int
cmd_shard_pull_config(struct cmd_args *a, struct conf *c,
    struct shard_pull_config *sc)
{
	struct pull_config *pc = &sc->pull;
	int n, rc;

	if (shard_pull_blocks(sc, args_get(a, "blocks")) != 0)
		return cmd_usage_error(a, "--blocks: '%s' is not A:B with A < B, "
		    "all or auto", args_get(a, "blocks"));
	sc->num_blocks = (uint32_t)args_int(a, "num-blocks", 0);
	if ((rc = cmd_discovery(a, c)) != 0)
		return rc;
	pc->source = a->argv[0];
	pc->origin = args_get(a, "origin");
	pc->digest = args_get(a, "digest");
	pc->peers = args_get_all(a, "peer", &n);
	pc->n_peers = (size_t)n;
	pc->head = args_flag(a, "head");
	sc->network = conf_get_str(c, "swarm.network");
	if (strstr(pc->source, "://") == NULL)
		sc->bootstrap = conf_get_list(c, "swarm.bootstrap",
		    &sc->n_bootstrap);
	if (strstr(pc->source, "://") == NULL && n == 0 && pc->origin == NULL &&
	    sc->n_bootstrap == 0)
		return cmd_usage_error(a, "pulling '%s' by id needs --peer, "
		    "--bootstrap or --origin", pc->source);
	if (sc->auto_blocks && sc->n_bootstrap == 0)
		return cmd_usage_error(a, "--blocks auto needs the swarm: give "
		    "--bootstrap HOST:PORT and a model id");
	sc->log = cmd_log;
	return 0;
}

static int
cmd_shard_pull_exec(struct cmd_args *a)
{
	struct shard_pull_config sc = { 0 };
	struct pull_report rep;
	struct progress *pr;
	struct conf *c;
	char *cause = NULL, *line;
	int rc;

	if ((c = cmd_conf_load(0)) == NULL)
		return EXIT_ERR;
	if ((rc = cmd_shard_pull_config(a, c, &sc)) != 0)
		goto out;
	pr = progress_new(stderr, "pulling");
	sc.pull.progress = pr != NULL ? progress_transfer_cb : NULL;
	sc.pull.progress_arg = pr;
	rc = shard_pull(&sc, &rep, &cause);
	progress_free(pr);
	if (rep.notes != NULL)
		fprintf(stderr, "swarm: %s\n", rep.notes);
	if (rc != 0)
		rc = cmd_fail(cause);
	else if (args_flag(a, "json"))
		rc = cmd_print_json(pull_report_json(&rep));
	else {
		line = pull_report_line(&rep);
		printf("%s\n", line);
		free(line);
	}
	pull_report_release(&rep);
out:
	conf_free(c);
	return rc;
}

static const struct opt cmd_shard_pull_opts[] = {
	OPT_STRING('b', "blocks", "A:B", "the blocks to fetch, A to B-1, all "
	    "(default) or auto: the span the swarm serves least"),
	OPT_INT(0, "num-blocks", "N", 1, 1 << 20, "how many blocks auto "
	    "picks (default: an even share)"),
	OPT_FLAG(0, "head", "fetch the embedding and output too (what a "
	    "client needs)"),
	OPT_ADDRESS(0, "peer", "a seeding node to pull from (repeatable)"),
	OPT_BOOTSTRAP,
	OPT_NETWORK,
	OPT_STRING(0, "origin", "URL", "an HTTP(S) URL of the GGUF for what "
	    "no peer holds"),
	OPT_STRING(0, "digest", "HEX", "trust only the manifest of this "
	    "digest (shard list prints it)"),
	OPT_FLAG('j', "json", "print one JSON document"),
	OPT_END
};

const struct cmd_entry cmd_shard_pull_entry = {
	.noun = "shard", .verb = "pull",
	.usage = "[--blocks A:B | all | auto] [--num-blocks N] [--head] "
	    "[--peer HOST:PORT] [--bootstrap HOST:PORT] [--network NAME] "
	    "[--origin URL] [--digest HEX] [--json] URL | MODEL",
	.summary = "fetch a span of a model's blocks into the shard store",
	.opts = cmd_shard_pull_opts,
	.min_args = 1, .max_args = 1,
	.exec = cmd_shard_pull_exec,
};
