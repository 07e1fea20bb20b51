/*
 * swarm ledger receipts: the signed receipts in the ledger, one a row:
 * those this machine earned as a node and those it signed as a client.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "ledger/ledger.h"
#include "util/strbuf.h"

static const struct opt ledger_receipts_opts[] = {
	OPT_LEDGER_FILTER,
	OPT_LEDGER_DB,
	OPT_FLAG(0, "json", "print a JSON array of the receipts"),
	OPT_END
};

static int
cmd_ledger_receipts_exec(struct cmd_args *a)
{
	struct ledger_filter f;
	struct strbuf sb = STRBUF_INIT;
	char *path, *cause = NULL;
	json_t *o;
	int rc;

	if ((rc = cmd_ledger_args(a, 1, &path, &f)) != 0)
		return rc;
	rc = ledger_list(path, &f, &o, &cause);
	free(path);
	if (rc != 0)
		return cmd_fail(cause);
	if (args_flag(a, "json"))
		return cmd_print_json(o);
	ledger_list_text(o, &sb);
	fputs(sb.buf, stdout);
	strbuf_release(&sb);
	json_decref(o);
	return EXIT_OK;
}

const struct cmd_entry cmd_ledger_receipts_entry = {
	.noun = "ledger", .verb = "receipts",
	.usage = "[--peer ID] [--model ID] [--since WHEN] [--db FILE] [--json]",
	.summary = "list the signed receipts",
	.opts = ledger_receipts_opts,
	.min_args = 0, .max_args = 0,
	.exec = cmd_ledger_receipts_exec,
};
