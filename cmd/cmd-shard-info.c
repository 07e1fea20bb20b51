/*
 * swarm shard info MODEL.gguf [--json]: what a model is and what serving
 * part of it costs. src/shard/shard-info.c reads the file and lays
 * out its figures (shard-info-text.c); this file prints them.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd.h"
#include "shard/shard-info.h"
#include "util/strbuf.h"

static int
shard_print_json(const struct shard_info *si, const char *path)
{
	json_t *root = shard_info_json(si, path);
	int rc;

	rc = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
	    JSON_REAL_PRECISION(9));
	putchar('\n');
	json_decref(root);
	return rc == 0 ? EXIT_OK : cmd_error("cannot write JSON");
}

static int
cmd_shard_info_exec(struct cmd_args *a)
{
	struct shard_info si;
	struct strbuf sb = STRBUF_INIT;
	char *cause = NULL;
	int rc = EXIT_OK;

	if (shard_info_open(&si, a->argv[0], &cause) != 0)
		return cmd_fail(cause);
	if (args_flag(a, "json"))
		rc = shard_print_json(&si, a->argv[0]);
	else {
		shard_info_text(&si, a->argv[0], &sb);
		fputs(sb.buf, stdout);
		strbuf_release(&sb);
	}
	shard_info_release(&si);
	return rc;
}

static const struct opt cmd_shard_info_opts[] = {
	OPT_FLAG('j', "json", "print one JSON document"),
	OPT_END
};

const struct cmd_entry cmd_shard_info_entry = {
	.noun = "shard", .verb = "info",
	.usage = "[--json] MODEL.gguf",
	.summary = "show a model's shape and what serving its blocks costs",
	.opts = cmd_shard_info_opts,
	.min_args = 1, .max_args = 1,
	.exec = cmd_shard_info_exec,
};
