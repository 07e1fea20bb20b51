/*
 * swarm shard rm MODEL [--blocks A:B]: remove a model, or some of its
 * blocks, from the shard store (src/shard/store-admin.c).
 */
#include <stdlib.h>

#include "cmd.h"
#include "shard/store.h"

static int
cmd_shard_rm_exec(struct cmd_args *a)
{
	uint32_t begin = 0, end = 0;
	char *cause = NULL;
	int span = args_span(a, "blocks", &begin, &end);

	if (store_rm(a->argv[0], span, begin, end, &cause) != 0)
		return cmd_fail(cause);
	return EXIT_OK;
}

static const struct opt cmd_shard_rm_opts[] = {
	OPT_SPAN('b', "blocks", 0, 1 << 20, "remove only blocks A to B-1"),
	OPT_END
};

const struct cmd_entry cmd_shard_rm_entry = {
	.noun = "shard", .verb = "rm",
	.usage = "[--blocks A:B] MODEL",
	.summary = "remove a model or some of its blocks from the shard store",
	.opts = cmd_shard_rm_opts,
	.min_args = 1, .max_args = 1,
	.exec = cmd_shard_rm_exec,
};
