/*
 * swarm ledger export: the signed receipts as JSON lines, for settling
 * elsewhere: each line has the keys, the numbers and the signature over
 * their canonical bytes (man/swarm-ledger-export.1 spells them out).
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "ledger/ledger.h"
#include "util/strbuf.h"

static const struct opt ledger_export_opts[] = {
	OPT_LEDGER_FILTER,
	OPT_LEDGER_DB,
	OPT_FLAG(0, "json", "the same JSON lines (the only format)"),
	OPT_END
};

static int
cmd_ledger_export_exec(struct cmd_args *a)
{
	struct ledger_filter f;
	struct strbuf sb = STRBUF_INIT;
	char *path, *cause = NULL;
	int rc;

	if ((rc = cmd_ledger_args(a, 1, &path, &f)) != 0)
		return rc;
	rc = ledger_export(path, &f, &sb, &cause);
	free(path);
	if (rc != 0) {
		strbuf_release(&sb);
		return cmd_fail(cause);
	}
	fwrite(sb.buf, 1, sb.len, stdout);
	strbuf_release(&sb);
	return EXIT_OK;
}

const struct cmd_entry cmd_ledger_export_entry = {
	.noun = "ledger", .verb = "export",
	.usage = "[--peer ID] [--model ID] [--since WHEN] [--db FILE] [--json]",
	.summary = "write the signed receipts as JSON lines",
	.opts = ledger_export_opts,
	.min_args = 0, .max_args = 0,
	.exec = cmd_ledger_export_exec,
};
