/*
 * swarm node status: ask a node what it serves and how busy it is
 * (src/engine/node-info.c asks; this file prints).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "conf/conf.h"
#include "engine/node-info.h"
#include "swarm/record.h"

static const struct opt node_status_opts[] = {
	OPT_FLAG(0, "json", "print the node's answer as JSON"),
	OPT_DURATION(0, "wait", 0, 3600, "wait this long for a "
	    "node that is starting to answer (default 0)"),
	OPT_END
};

/* The steps that came on channels, from a node that counts them. */
static void
cmd_node_status_channels(const struct node_info *ni)
{
	json_t *ch = json_object_get(json_object_get(ni->json, "status"),
	    "channels");
	json_t *open = json_object_get(ch, "open");
	json_t *steps = json_object_get(ch, "steps");

	if (!json_is_integer(open) || !json_is_integer(steps))
		return;
	printf("channels    %lld open; %lld of the steps came on one\n",
	    (long long)json_integer_value(open),
	    (long long)json_integer_value(steps));
}

static int
cmd_node_status_exec(struct cmd_args *a)
{
	struct node_info ni;
	struct conf *conf;
	char *cause = NULL;
	double wait = args_num(a, "wait", 0);
	int rc;

	/* Without an address, the node this machine's config describes. */
	if (a->argc > 0)
		rc = node_info_fetch_wait(a->argv[0], wait, &ni, &cause);
	else {
		if ((conf = cmd_conf_load(0)) == NULL)
			return EXIT_ERR;
		rc = node_info_fetch_wait(conf_get_str(conf, "node.listen"),
		    wait, &ni, &cause);
		conf_free(conf);
	}
	if (rc != 0)
		return cmd_fail(cause);
	if (args_flag(a, "json")) {
		rc = cmd_print_json(json_incref(ni.json));
		node_info_release(&ni);
		return rc;
	}
	printf("node        %s (%s, version %s)\n", ni.rec.addr,
	    peer_state_name(ni.rec.state), ni.rec.version);
	printf("model       %s\n", ni.rec.model_id);
	printf("blocks      %u:%u of %lld\n", ni.rec.block_begin,
	    ni.rec.block_end, (long long)ni.n_layer);
	printf("throughput  %.0f tokens/s per block\n", ni.rec.throughput);
	printf("sessions    %lld of %lld (%lld positions each at most)\n",
	    (long long)ni.sessions, (long long)ni.max_sessions,
	    (long long)ni.max_context);
	printf("load        %.0f%%\n", ni.rec.load * 100);
	printf("tokens      %lld processed in %lld steps\n",
	    (long long)ni.tokens_processed, (long long)ni.steps);
	cmd_node_status_channels(&ni);
	printf("rate        %.1f tokens/s over 10 s, %.1f over 60 s\n",
	    ni.tokens_per_second_10s, ni.tokens_per_second_60s);
	printf("uptime      %.0f s\n", ni.uptime_seconds);
	node_info_release(&ni);
	return EXIT_OK;
}

const struct cmd_entry cmd_node_status_entry = {
	.noun = "node", .verb = "status",
	.usage = "[--json] [--wait SECONDS] [ADDR]",
	.summary = "show what a node serves, its sessions and load",
	.opts = node_status_opts,
	.min_args = 0, .max_args = 1,
	.exec = cmd_node_status_exec,
};
