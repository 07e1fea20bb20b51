/*
 * swarm top: the live board of the swarm (src/ui/top.c), or its batch
 * snapshots (-b, --json). This file gathers the options and the swarm to
 * watch.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "conf/conf.h"
#include "ui/top-model.h"
#include "ui/top.h"

static const struct opt top_opts[] = {
	OPT_DURATION('d', "interval", 0.2, 3600, "seconds between refreshes "
	    "(default 1)"),
	OPT_FLAG('b', "batch", "print plain-text snapshots, not the board"),
	OPT_INT('n', "count", "N", 1, 1000000000, "stop after N refreshes "
	    "(default: until stopped)"),
	OPT_FLAG(0, "json", "print one JSON document per refresh, a line each"),
	OPT_ADDRESS(0, "peer", "a node to watch (repeatable; default: the "
	    "nodes the DHT lists)"),
	OPT_BOOTSTRAP,
	OPT_NETWORK,
	OPT_DURATION(0, "timeout", 0.1, 60, "seconds a peer has to answer "
	    "(default: the interval, at most 2)"),
	OPT_STRING(0, "sort", "COLUMN", "sort by this column (default SPAN)"),
	OPT_STRING(0, "filter", "TEXT", "show only peers whose row has TEXT"),
	OPT_INT('w', "width", "N", 40, 1000, "width of the batch text "
	    "(default 100)"),
	OPT_FLAG(0, "no-color", "no colours (also when NO_COLOR is set)"),
	OPT_END
};

static int
cmd_top_exec(struct cmd_args *a)
{
	struct top_options o = { 0 };
	struct top probe;
	struct conf *c;
	char **peers, *cause = NULL;
	const char *nc = getenv("NO_COLOR");
	double interval = args_num(a, "interval", 1);
	int n_peers, rc;

	if ((c = cmd_conf_load(0)) == NULL)
		return EXIT_ERR;
	if ((rc = cmd_discovery(a, c)) != 0)
		goto out;
	peers = args_get_all(a, "peer", &n_peers);
	o.watch.peers = peers;
	o.watch.n_peers = (size_t)n_peers;
	o.watch.network = o.network = conf_get_str(c, "swarm.network");
	if (n_peers == 0)
		o.watch.bootstrap = conf_get_list(c, "swarm.bootstrap",
		    &o.watch.n_bootstrap);
	if (n_peers == 0 && o.watch.n_bootstrap == 0) {
		rc = cmd_usage_error(a, "no swarm to watch: give --bootstrap "
		    "HOST:PORT (or set swarm.bootstrap) or --peer HOST:PORT");
		goto out;
	}
	o.watch.local = conf_get_str(c, "node.listen");
	o.watch.gateway = conf_get_str(c, "serve.listen");
	o.watch.interval = interval;
	o.watch.timeout = args_num(a, "timeout", interval < 2 ? interval : 2);
	o.batch = args_flag(a, "batch");
	o.json = args_flag(a, "json");
	o.count = (long)args_int(a, "count", 0);
	o.color = !args_flag(a, "no-color") && (nc == NULL || *nc == '\0');
	o.width = (int)args_int(a, "width", 100);
	if ((o.sort = args_get(a, "sort")) != NULL) {
		top_init(&probe, "");
		rc = top_sort_by(&probe, o.sort) != 0 ? cmd_usage_error(a,
		    "no column '%s' to sort by", o.sort) : 0;
		top_release(&probe);
		if (rc != 0)
			goto out;
	}
	o.filter = args_get(a, "filter");
	o.out = stdout;
	if (top_main(&o, &cause) != 0)
		rc = cmd_fail(cause);
out:
	conf_free(c);
	return rc;
}

const struct cmd_entry cmd_top_entry = {
	.noun = "top", .verb = NULL,
	.usage = "[-b] [-n N] [--json] [-d SECONDS] [--peer HOST:PORT ... | "
	    "--bootstrap HOST:PORT ...] [--network NAME] [--sort COLUMN] "
	    "[--filter TEXT] [--no-color]",
	.summary = "watch the swarm live: coverage, peers, rates",
	.opts = top_opts,
	.min_args = 0, .max_args = 0,
	.exec = cmd_top_exec,
};
