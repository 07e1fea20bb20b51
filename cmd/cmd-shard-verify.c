/*
 * swarm shard verify [MODEL] [--json]: re-hash every piece held, drop the
 * bad ones (src/shard/store-admin.c). Exit 1 when any was bad.
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cmd.h"
#include "shard/store.h"

static void
cmd_shard_verify_print(json_t *rep)
{
	json_t *m, *bad;
	size_t i, k;

	for (i = 0; i < json_array_size(rep); i++) {
		m = json_array_get(rep, i);
		printf("%s: %lld pieces, %lld bytes, %s\n",
		    json_string_value(json_object_get(m, "id")),
		    (long long)json_integer_value(json_object_get(m, "pieces")),
		    (long long)json_integer_value(json_object_get(m, "bytes")),
		    json_is_true(json_object_get(m, "ok")) ? "ok" : "BAD");
		bad = json_object_get(m, "bad");
		for (k = 0; k < json_array_size(bad); k++)
			printf("  %s piece %lld of %s\n", json_is_true(
			    json_object_get(m, "served")) ? "bad (served, kept)" :
			    "dropped", (long long)json_integer_value(
			    json_object_get(json_array_get(bad, k), "piece")),
			    json_string_value(json_object_get(json_array_get(bad,
			    k), "tensor")));
	}
}

static int
cmd_shard_verify_exec(struct cmd_args *a)
{
	json_t *rep;
	char *cause = NULL;
	size_t i;
	int bad = 0;

	if ((rep = store_verify_json(a->argc > 0 ? a->argv[0] : NULL,
	    &cause)) == NULL)
		return cmd_fail(cause);
	for (i = 0; i < json_array_size(rep); i++)
		bad |= !json_is_true(json_object_get(json_array_get(rep, i),
		    "ok"));
	if (args_flag(a, "json")) {
		json_incref(rep);
		cmd_print_json(rep);
	} else
		cmd_shard_verify_print(rep);
	json_decref(rep);
	return bad ? EXIT_ERR : EXIT_OK;
}

static const struct opt cmd_shard_verify_opts[] = {
	OPT_FLAG('j', "json", "print one JSON document"),
	OPT_END
};

const struct cmd_entry cmd_shard_verify_entry = {
	.noun = "shard", .verb = "verify",
	.usage = "[--json] [MODEL]",
	.summary = "re-hash the shard store and drop bad pieces",
	.opts = cmd_shard_verify_opts,
	.min_args = 0, .max_args = 1,
	.exec = cmd_shard_verify_exec,
};
