/*
 * swarm ledger show: per peer, what this machine served it and what it
 * served this machine, the net, the totals, and a gateway's use per API
 * key; swarm ledger receipts: the signed receipts, those this machine
 * earned as a node and those it signed as a client (both from
 * src/ledger/ledger-query.c).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "ledger/ledger.h"
#include "util/strbuf.h"

/* A query of the ledger and its text form. */
static int
ledger_query_exec(struct cmd_args *a, int (*query)(const char *,
    const struct ledger_filter *, json_t **, char **),
    void (*text)(const json_t *, struct strbuf *))
{
	struct ledger_filter f;
	struct strbuf sb = STRBUF_INIT;
	char *path, *cause = NULL;
	json_t *o;
	int rc;

	if ((rc = cmd_ledger_args(a, 1, &path, &f)) != 0)
		return rc;
	rc = query(path, &f, &o, &cause);
	free(path);
	if (rc != 0)
		return cmd_fail(cause);
	if (args_flag(a, "json"))
		return cmd_print_json(o);
	text(o, &sb);
	fputs(sb.buf, stdout);
	strbuf_release(&sb);
	json_decref(o);
	return EXIT_OK;
}

static int
cmd_ledger_show_exec(struct cmd_args *a)
{
	return ledger_query_exec(a, ledger_show, ledger_show_text);
}

static int
cmd_ledger_receipts_exec(struct cmd_args *a)
{
	return ledger_query_exec(a, ledger_list, ledger_list_text);
}

static const struct opt ledger_show_opts[] = {
	OPT_LEDGER_FILTER,
	OPT_LEDGER_DB,
	OPT_FLAG(0, "json", "print one JSON object: peers, totals, api_keys"),
	OPT_END
};

static const struct opt ledger_receipts_opts[] = {
	OPT_LEDGER_FILTER,
	OPT_LEDGER_DB,
	OPT_FLAG(0, "json", "print a JSON array of the receipts"),
	OPT_END
};

const struct cmd_entry cmd_ledger_show_entry = {
	.noun = "ledger", .verb = "show",
	.usage = "[--peer ID] [--model ID] [--since WHEN] [--db FILE] [--json]",
	.summary = "balances per peer and per API key",
	.opts = ledger_show_opts,
	.min_args = 0, .max_args = 0,
	.exec = cmd_ledger_show_exec,
};

const struct cmd_entry cmd_ledger_receipts_entry = {
	.noun = "ledger", .verb = "receipts",
	.usage = "[--peer ID] [--model ID] [--since WHEN] [--db FILE] [--json]",
	.summary = "list the signed receipts",
	.opts = ledger_receipts_opts,
	.min_args = 0, .max_args = 0,
	.exec = cmd_ledger_receipts_exec,
};
