/*
 * swarm shard verify [MODEL] [--json]: re-hash every piece held, drop the
 * bad ones (src/shard/store-admin.c). Exit 1 when any was bad.
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cmd.h"
#include "shard/store.h"

static int
cmd_shard_verify_exec(struct cmd_args *a)
{
	json_t *rep, *m, *b;
	char *cause = NULL;
	size_t i, k;
	int bad = 0;

	if ((rep = store_verify_json(a->argc > 0 ? a->argv[0] : NULL,
	    &cause)) == NULL)
		return cmd_fail(cause);
	json_array_foreach(rep, i, m)
		bad |= !json_is_true(json_object_get(m, "ok"));
	if (args_flag(a, "json")) {
		json_incref(rep);
		cmd_print_json(rep);
	} else
		json_array_foreach(rep, i, m) {
			printf("%s: %lld pieces, %lld bytes, %s\n",
			    json_string_value(json_object_get(m, "id")),
			    (long long)json_integer_value(json_object_get(m,
			    "pieces")), (long long)json_integer_value(
			    json_object_get(m, "bytes")), json_is_true(
			    json_object_get(m, "ok")) ? "ok" : "BAD");
			json_array_foreach(json_object_get(m, "bad"), k, b)
				printf("  dropped piece %lld of %s\n",
				    (long long)json_integer_value(
				    json_object_get(b, "piece")),
				    json_string_value(json_object_get(b,
				    "tensor")));
		}
	json_decref(rep);
	return bad ? EXIT_ERR : EXIT_OK;
}

static const struct cmd_opt cmd_shard_verify_opts[] = {
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
