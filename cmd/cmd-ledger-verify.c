/*
 * swarm ledger verify: checks every stored receipt again (signature, the
 * peer it is filed under, units, the sequence of its session) and names
 * each row that fails; exit status 1 when one does.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "ledger/ledger.h"
#include "util/strbuf.h"

static const struct opt ledger_verify_opts[] = {
	OPT_LEDGER_DB,
	OPT_FLAG(0, "json", "print a JSON object: receipts, bad rows"),
	OPT_END
};

static int
cmd_ledger_verify_exec(struct cmd_args *a)
{
	struct ledger_filter f;
	struct strbuf sb = STRBUF_INIT;
	char *path, *cause = NULL;
	json_t *o;
	int rc, bad;

	if ((rc = cmd_ledger_args(a, 0, &path, &f)) != 0)
		return rc;
	rc = ledger_verify(path, &o, &cause);
	free(path);
	if (rc != 0)
		return cmd_fail(cause);
	bad = json_array_size(json_object_get(o, "bad")) > 0;
	if (args_flag(a, "json")) {
		rc = cmd_print_json(o);
		return bad ? EXIT_ERR : rc;
	}
	ledger_verify_text(o, &sb);
	fputs(sb.buf, bad ? stderr : stdout);
	strbuf_release(&sb);
	json_decref(o);
	return bad ? EXIT_ERR : EXIT_OK;
}

const struct cmd_entry cmd_ledger_verify_entry = {
	.noun = "ledger", .verb = "verify",
	.usage = "[--db FILE] [--json]",
	.summary = "check every receipt's signature and sequence",
	.opts = ledger_verify_opts,
	.min_args = 0, .max_args = 0,
	.exec = cmd_ledger_verify_exec,
};
