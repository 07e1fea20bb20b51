/*
 * swarm shard list [--json]: the models in the shard store, the blocks each
 * holds, its head, its bytes (src/shard/store-admin.c).
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cmd.h"
#include "shard/store.h"

static void
cmd_shard_list_print(json_t *models)
{
	json_t *m, *span;
	size_t i, k;

	if (json_array_size(models) == 0) {
		printf("the shard store is empty\n");
		return;
	}
	printf("%-24s %-40s %-12s %-5s %14s\n", "MODEL", "ID", "BLOCKS", "HEAD",
	    "BYTES");
	json_array_foreach(models, i, m) {
		char held[64] = "";
		int used = 0;

		json_array_foreach(json_object_get(m, "held"), k, span)
			used += snprintf(held + used, sizeof(held) - used > 0 ?
			    sizeof(held) - (size_t)used : 0, "%s%s", k ? "," :
			    "", json_string_value(span));
		printf("%-24s %-40s %-12s %-5s %14lld\n",
		    json_string_value(json_object_get(m, "model")),
		    json_string_value(json_object_get(m, "id")),
		    held[0] ? held : "-",
		    json_is_true(json_object_get(m, "head")) ? "yes" : "no",
		    (long long)json_integer_value(json_object_get(m, "bytes")));
	}
}

static int
cmd_shard_list_exec(struct cmd_args *a)
{
	json_t *models;
	char *cause = NULL;

	if ((models = store_list_json(&cause)) == NULL)
		return cmd_fail(cause);
	if (args_flag(a, "json"))
		return cmd_print_json(models);
	cmd_shard_list_print(models);
	json_decref(models);
	return EXIT_OK;
}

static const struct opt cmd_shard_list_opts[] = {
	OPT_FLAG('j', "json", "print one JSON document"),
	OPT_END
};

const struct cmd_entry cmd_shard_list_entry = {
	.noun = "shard", .verb = "list",
	.usage = "[--json]",
	.summary = "list the models in the shard store and the blocks held",
	.opts = cmd_shard_list_opts,
	.min_args = 0, .max_args = 0,
	.exec = cmd_shard_list_exec,
};
