/*
 * The ledger commands' text: tables of balances and receipts, and the
 * verdict of a verification. Amounts are kept in micro-credits; they are
 * shown in credits.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/ledger.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

static json_int_t
ledger_int(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static void
ledger_balance_line(struct strbuf *sb, const char *name, const json_t *o)
{
	strbuf_addf(sb, "%-16.16s %12lld %12lld %12lld %14.6f\n", name,
	    (long long)ledger_int(o, "served_units"),
	    (long long)ledger_int(o, "used_units"),
	    (long long)ledger_int(o, "net_units"),
	    (double)ledger_int(o, "net_amount") / 1e6);
}

void
ledger_show_text(const json_t *o, struct strbuf *sb)
{
	const json_t *peers = json_object_get(o, "peers");
	const json_t *keys = json_object_get(o, "api_keys");
	const json_t *v;
	size_t i;

	strbuf_addf(sb, "%-16s %12s %12s %12s %14s\n", "PEER", "SERVED",
	    "USED", "NET", "NET CREDITS");
	for (i = 0; i < json_array_size(peers); i++) {
		v = json_array_get(peers, i);
		ledger_balance_line(sb, json_string_value(json_object_get(v,
		    "peer")), v);
	}
	ledger_balance_line(sb, "total", json_object_get(o, "totals"));
	if (json_array_size(keys) == 0)
		return;
	strbuf_addf(sb, "\n%-16s %9s %12s %12s %12s %14s\n", "API KEY",
	    "REQUESTS", "TOKENS IN", "TOKENS OUT", "UNITS", "CREDITS");
	for (i = 0; i < json_array_size(keys); i++) {
		v = json_array_get(keys, i);
		strbuf_addf(sb, "%-16s %9lld %12lld %12lld %12lld %14.6f\n",
		    json_string_value(json_object_get(v, "key")),
		    (long long)ledger_int(v, "requests"),
		    (long long)ledger_int(v, "tokens_in"),
		    (long long)ledger_int(v, "tokens_out"),
		    (long long)ledger_int(v, "units"),
		    (double)ledger_int(v, "amount") / 1e6);
	}
}

void
ledger_list_text(const json_t *list, struct strbuf *sb)
{
	const json_t *v;
	size_t i;

	strbuf_addf(sb, "%6s %-6s %-16s %-16s %7s %5s %10s %10s\n", "ROW",
	    "ROLE", "PEER", "SESSION", "BLOCKS", "SEQ", "TOKENS", "UNITS");
	for (i = 0; i < json_array_size(list); i++) {
		char span[32];

		v = json_array_get(list, i);
		if (json_object_get(v, "error") != NULL) {
			strbuf_addf(sb, "%6lld %-6s %s\n", (long long)ledger_int(v,
			    "row"), json_string_value(json_object_get(v,
			    "role")), json_string_value(json_object_get(v,
			    "error")));
			continue;
		}
		snprintf(span, sizeof(span), "%lld:%lld",
		    (long long)ledger_int(v, "block_begin"),
		    (long long)ledger_int(v, "block_end"));
		strbuf_addf(sb, "%6lld %-6s %-16.16s %-16.16s %7s %5lld %10lld "
		    "%10lld\n", (long long)ledger_int(v, "row"),
		    json_string_value(json_object_get(v, "role")),
		    json_string_value(json_object_get(v, "peer")),
		    json_string_value(json_object_get(v, "session")), span,
		    (long long)ledger_int(v, "seq"),
		    (long long)ledger_int(v, "tokens"),
		    (long long)ledger_int(v, "units"));
	}
}

void
ledger_verify_text(const json_t *o, struct strbuf *sb)
{
	const json_t *bad = json_object_get(o, "bad"), *v;
	size_t i;

	for (i = 0; i < json_array_size(bad); i++) {
		v = json_array_get(bad, i);
		strbuf_addf(sb, "row %lld: %s\n", (long long)ledger_int(v, "row"),
		    json_string_value(json_object_get(v, "problem")));
	}
	if (json_array_size(bad) == 0)
		strbuf_addf(sb, "%lld receipts verified\n",
		    (long long)ledger_int(o, "receipts"));
	else
		strbuf_addf(sb, "%zu of %lld receipts fail\n",
		    json_array_size(bad), (long long)ledger_int(o, "receipts"));
}

int
ledger_parse_when(const char *s, int64_t now, int64_t *out, char **cause)
{
	static const struct { char c; int64_t s; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
		{ 'w', 7 * 86400 },
	};
	const char *err;
	struct tm tm;
	char *end;
	uint64_t v;
	size_t i, len = strlen(s);

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%d", &tm)) != NULL && *end == '\0') {
		*out = (int64_t)timegm(&tm);
		return 0;
	}
	v = parse_uint(s, 0, (uint64_t)INT64_MAX / 2, &err);
	if (err == NULL) {
		*out = (int64_t)v;
		return 0;
	}
	for (i = 0; len > 1 && i < sizeof(units) / sizeof(units[0]); i++) {
		char *num;

		if (s[len - 1] != units[i].c)
			continue;
		num = xstrndup(s, len - 1);
		v = parse_uint(num, 0, 100 * 365 * 86400ULL, &err);
		free(num);
		if (err == NULL) {
			*out = now - (int64_t)v * units[i].s;
			return 0;
		}
	}
	return set_cause(cause, "'%s' is not a time: give unix seconds, "
	    "YYYY-MM-DD or a duration ago (30m, 2h, 7d)", s);
}
