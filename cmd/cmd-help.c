/*
 * swarm help [noun [verb]]: the command list, or one command's help; with
 * --json the same as data (name, usage, summary, options) for scripts.
 */
#include <jansson.h>
#include <string.h>

#include "cmd.h"

static const struct opt help_opts[] = {
	OPT_FLAG(0, "json", "print the commands (name, usage, summary, "
	    "options) as JSON"),
	OPT_END
};

/* Does entry e answer `help argv...`? */
static int
help_matches(const struct cmd_entry *e, int argc, char **argv)
{
	if (argc == 0)
		return 1;
	if (strcmp(e->noun, argv[0]) != 0)
		return 0;
	return argc == 1 || (e->verb != NULL && strcmp(e->verb, argv[1]) == 0);
}

static json_t *
help_json(const struct cmd_entry *e)
{
	json_t *opts = json_array();
	const struct opt *o;

	for (o = e->opts; o != NULL && o->name != NULL; o++)
		json_array_append_new(opts, json_pack("{s:s,s:s?,s:s?,s:s}",
		    "name", o->name, "short", o->ch ? (char[2]){ (char)o->ch,
		    '\0' } : NULL, "arg", o->arg, "help", o->help));
	return json_pack("{s:s,s:s?,s:s,s:s,s:o}", "noun", e->noun, "verb",
	    e->verb, "usage", e->usage, "summary", e->summary, "options",
	    opts);
}

static void
help_list(void)
{
	const struct cmd_entry *e;
	char name[64];
	size_t i;

	printf("usage: swarm <noun> <verb> [options] [args]\n\ncommands:\n");
	for (i = 0; (e = cmd_table[i]) != NULL; i++) {
		snprintf(name, sizeof(name), "%s%s%s", e->noun,
		    e->verb ? " " : "", e->verb ? e->verb : "");
		printf("  %-20s %s\n", name, e->summary);
	}
	printf("\n'swarm help NOUN [VERB]' or 'swarm NOUN VERB -h' shows one "
	    "command\n");
}

static int
cmd_help_exec(struct cmd_args *a)
{
	const struct cmd_entry *e;
	json_t *list = json_array();
	size_t i;
	int shown = 0;

	for (i = 0; (e = cmd_table[i]) != NULL; i++) {
		if (!help_matches(e, a->argc, a->argv))
			continue;
		json_array_append_new(list, help_json(e));
		if (args_flag(a, "json") || a->argc == 0)
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
	if (json_array_size(list) == 0) {
		json_decref(list);
		return cmd_usage_error(a, "no help for '%s%s%s': not a swarm "
		    "command", a->argv[0], a->argc > 1 ? " " : "",
		    a->argc > 1 ? a->argv[1] : "");
	}
	if (args_flag(a, "json"))
		return cmd_print_json(list);
	json_decref(list);
	if (a->argc == 0)
		help_list();
	return EXIT_OK;
}

const struct cmd_entry cmd_help_entry = {
	.noun = "help",
	.usage = "[--json] [NOUN [VERB]]",
	.summary = "show the commands, or the help of one command",
	.opts = help_opts,
	.min_args = 0, .max_args = 2,
	.exec = cmd_help_exec,
};
