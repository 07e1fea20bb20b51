/*
 * swarm ledger show: per peer, what this machine served it and what it
 * served this machine, the net, the totals, and a gateway's use per API
 * key (src/ledger/ledger-query.c).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "ledger/ledger.h"
#include "util/strbuf.h"

static const struct opt ledger_show_opts[] = {
	OPT_LEDGER_FILTER,
	OPT_LEDGER_DB,
	OPT_FLAG(0, "json", "print one JSON object: peers, totals, api_keys"),
	OPT_END
};

static int
cmd_ledger_show_exec(struct cmd_args *a)
{
	struct ledger_filter f;
	struct strbuf sb = STRBUF_INIT;
	char *path, *cause = NULL;
	json_t *o;
	int rc;

	if ((rc = cmd_ledger_args(a, 1, &path, &f)) != 0)
		return rc;
	rc = ledger_show(path, &f, &o, &cause);
	free(path);
	if (rc != 0)
		return cmd_fail(cause);
	if (args_flag(a, "json"))
		return cmd_print_json(o);
	ledger_show_text(o, &sb);
	fputs(sb.buf, stdout);
	strbuf_release(&sb);
	json_decref(o);
	return EXIT_OK;
}

const struct cmd_entry cmd_ledger_show_entry = {
	.noun = "ledger", .verb = "show",
	.usage = "[--peer ID] [--model ID] [--since WHEN] [--db FILE] [--json]",
	.summary = "balances per peer and per API key",
	.opts = ledger_show_opts,
	.min_args = 0, .max_args = 0,
	.exec = cmd_ledger_show_exec,
};
