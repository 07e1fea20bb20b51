/*
 * swarm node leave: ask a node on this machine to drain and stop, as SIGTERM
 * would. The node's control endpoint answers loopback clients that show the
 * token it wrote to the data directory (src/engine/node-info.c asks).
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "conf/conf.h"
#include "engine/node-info.h"
#include "util/xmalloc.h"

static const struct opt node_leave_opts[] = {
	OPT_FLAG(0, "wait", "wait until the node has stopped"),
	OPT_END
};

static int
cmd_node_leave_exec(struct cmd_args *a)
{
	struct conf *conf;
	char *cause = NULL, *addr, *dir = NULL;
	int rc = EXIT_ERR;

	/* Without an address, the node this machine's config describes. */
	if (a->argc > 0)
		addr = xstrdup(a->argv[0]);
	else {
		if ((conf = cmd_conf_load(0)) == NULL)
			return EXIT_ERR;
		addr = xstrdup(conf_get_str(conf, "node.listen"));
		conf_free(conf);
	}
	if ((dir = conf_data_dir(&cause)) == NULL ||
	    node_info_leave(addr, dir, &cause) != 0)
		goto fail;
	printf("node %s is draining\n", addr);
	if (args_flag(a, "wait")) {
		fflush(stdout);
		if (node_info_wait_gone(addr, 60, &cause) != 0)
			goto fail;
		printf("node %s has stopped\n", addr);
	}
	rc = EXIT_OK;
	goto out;
fail:
	rc = cmd_fail(cause);
out:
	free(dir);
	free(addr);
	return rc;
}

const struct cmd_entry cmd_node_leave_entry = {
	.noun = "node", .verb = "leave",
	.usage = "[--wait] [ADDR]",
	.summary = "drain a node on this machine and stop it",
	.opts = node_leave_opts,
	.min_args = 0, .max_args = 1,
	.exec = cmd_node_leave_exec,
};
