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
#include "shard/manifest.h"
#include "shard/pull.h"
#include "ui/progress.h"
#include "util/parse.h"

static int
cmd_shard_pull_blocks(struct cmd_args *a, struct pull_config *pc)
{
	const char *v = args_get(a, "blocks"), *err = NULL;

	pc->block_begin = 0;
	pc->block_end = MANIFEST_NO_BLOCK;
	if (v == NULL || strcmp(v, "all") == 0)
		return 0;
	if (parse_span(v, 0, 1 << 20, &pc->block_begin, &pc->block_end,
	    &err) != 0)
		return cmd_usage_error(a, "--blocks: '%s' is not A:B with A < B "
		    "or all", v);
	return 0;
}

static int
cmd_shard_pull_exec(struct cmd_args *a)
{
	struct pull_config pc = { 0 };
	struct pull_report rep;
	struct progress *pr;
	char *cause = NULL, *line;
	int n, rc;

	if ((rc = cmd_shard_pull_blocks(a, &pc)) != 0)
		return rc;
	pc.source = a->argv[0];
	pc.origin = args_get(a, "origin");
	pc.digest = args_get(a, "digest");
	pc.peers = args_get_all(a, "peer", &n);
	pc.n_peers = (size_t)n;
	pc.head = args_flag(a, "head");
	if (strstr(pc.source, "://") == NULL && n == 0 && pc.origin == NULL)
		return cmd_usage_error(a, "pulling '%s' by id needs --peer "
		    "HOST:PORT or --origin URL", pc.source);
	pr = progress_new(stderr, "pulling");
	pc.progress = pr != NULL ? progress_model_cb : NULL;
	pc.progress_arg = pr;
	rc = pull_run(&pc, &rep, &cause);
	progress_free(pr);
	if (rep.notes != NULL)
		fprintf(stderr, "swarm: %s\n", rep.notes);
	if (rc != 0) {
		pull_report_release(&rep);
		return cmd_fail(cause);
	}
	if (args_flag(a, "json"))
		rc = cmd_print_json(pull_report_json(&rep));
	else {
		line = pull_report_line(&rep);
		printf("%s\n", line);
		free(line);
	}
	pull_report_release(&rep);
	return rc;
}

static const struct cmd_opt cmd_shard_pull_opts[] = {
	OPT_STRING('b', "blocks", "A:B", "the blocks to fetch, A to B-1, or "
	    "all (default all)"),
	OPT_FLAG(0, "head", "fetch the embedding and output too (what a "
	    "client needs)"),
	OPT_ADDRESS(0, "peer", "a seeding node to pull from (repeatable)"),
	OPT_STRING(0, "origin", "URL", "an HTTP(S) URL of the GGUF for what "
	    "no peer holds"),
	OPT_STRING(0, "digest", "HEX", "trust only the manifest of this "
	    "digest (shard list prints it)"),
	OPT_FLAG('j', "json", "print one JSON document"),
	OPT_END
};

const struct cmd_entry cmd_shard_pull_entry = {
	.noun = "shard", .verb = "pull",
	.usage = "[--blocks A:B | all] [--head] [--peer HOST:PORT] "
	    "[--origin URL] [--digest HEX] [--json] URL | MODEL",
	.summary = "fetch a span of a model's blocks into the shard store",
	.opts = cmd_shard_pull_opts,
	.min_args = 1, .max_args = 1,
	.exec = cmd_shard_pull_exec,
};
