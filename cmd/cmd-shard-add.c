/*
 * swarm shard add MODEL.gguf [--blocks A:B] [--head]: import a local file
 * into the shard store: its manifest, and a link to it, or a copy of a
 * span (src/shard/store-admin.c).
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "shard/store.h"

static int
cmd_shard_add_exec(struct cmd_args *a)
{
	uint32_t begin = 0, end = 0;
	char *cause = NULL, *id = NULL;
	int blocks = args_span(a, "blocks", &begin, &end);
	int head = args_flag(a, "head");

	if (store_add_file(a->argv[0], blocks || head, begin, end, head, &id,
	    &cause) != 0)
		return cmd_fail(cause);
	printf("%s\n", id);
	free(id);
	return EXIT_OK;
}

static const struct opt cmd_shard_add_opts[] = {
	OPT_SPAN('b', "blocks", 0, 1 << 20, "copy only blocks A to B-1 "
	    "(default: link the whole file)"),
	OPT_FLAG(0, "head", "with --blocks, the embedding and output too"),
	OPT_END
};

const struct cmd_entry cmd_shard_add_entry = {
	.noun = "shard", .verb = "add",
	.usage = "[--blocks A:B] [--head] MODEL.gguf",
	.summary = "import a local model file into the shard store",
	.opts = cmd_shard_add_opts,
	.min_args = 1, .max_args = 1,
	.exec = cmd_shard_add_exec,
};
