/*
 * swarm version: the program's version (also `swarm --version`).
 */
#include <jansson.h>

#include "cmd.h"

static const struct opt version_opts[] = {
	OPT_FLAG(0, "json", "print {\"version\": ...}"),
	OPT_END
};

static int
cmd_version_exec(struct cmd_args *a)
{
	if (args_flag(a, "json"))
		return cmd_print_json(json_pack("{s:s}", "version",
		    SWARM_VERSION));
	printf("swarm %s\n", SWARM_VERSION);
	return EXIT_OK;
}

const struct cmd_entry cmd_version_entry = {
	.noun = "version",
	.usage = "[--json]",
	.summary = "print the version of swarm",
	.opts = version_opts,
	.min_args = 0, .max_args = 0,
	.exec = cmd_version_exec,
};
