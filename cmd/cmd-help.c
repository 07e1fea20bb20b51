/*
 * swarm help [noun [verb]]: the command list, or one command's help.
 */
#include <string.h>

#include "cmd.h"

static int
cmd_help_exec(struct cmd_args *a)
{
	size_t i;
	int shown = 0;

	if (a->argc == 0) {
		printf("usage: swarm <noun> <verb> [options] [args]\n\n"
		    "commands:\n");
		for (i = 0; cmd_table[i] != NULL; i++) {
			const struct cmd_entry *e = cmd_table[i];
			char name[64];

			snprintf(name, sizeof(name), "%s%s%s", e->noun,
			    e->verb ? " " : "", e->verb ? e->verb : "");
			printf("  %-20s %s\n", name, e->summary);
		}
		printf("\n'swarm help NOUN [VERB]' or 'swarm NOUN VERB -h' "
		    "shows one command\n");
		return EXIT_OK;
	}
	for (i = 0; cmd_table[i] != NULL; i++) {
		const struct cmd_entry *e = cmd_table[i];

		if (strcmp(e->noun, a->argv[0]) != 0)
			continue;
		if (a->argc > 1 && (e->verb == NULL ||
		    strcmp(e->verb, a->argv[1]) != 0))
			continue;
		if (a->argc > 1 || e->verb == NULL) {
			if (shown++ > 0)
				putchar('\n');
			cmd_print_help(e, stdout);
		} else if (shown++ == 0)
			printf("usage: swarm %s <verb> [options] [args]\n\n"
			    "verbs:\n  swarm %s %-12s %s\n", e->noun, e->noun,
			    e->verb, e->summary);
		else
			printf("  swarm %s %-12s %s\n", e->noun, e->verb,
			    e->summary);
	}
	if (shown == 0)
		return cmd_error("no help for '%s%s%s': not a swarm command",
		    a->argv[0], a->argc > 1 ? " " : "",
		    a->argc > 1 ? a->argv[1] : "");
	return EXIT_OK;
}

const struct cmd_entry cmd_help_entry = {
	.noun = "help",
	.usage = "[noun [verb]]",
	.summary = "show the commands, or the help of one command",
	.min_args = 0, .max_args = 2,
	.exec = cmd_help_exec,
};
