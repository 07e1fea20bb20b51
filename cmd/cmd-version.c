/*
 * swarm version: the program's version (also `swarm --version`).
 */
#include "cmd.h"

static int
cmd_version_exec(struct cmd_args *a)
{
	(void)a;
	printf("swarm %s\n", SWARM_VERSION);
	return EXIT_OK;
}

const struct cmd_entry cmd_version_entry = {
	.noun = "version",
	.usage = "",
	.summary = "print the version of swarm",
	.min_args = 0, .max_args = 0,
	.exec = cmd_version_exec,
};
