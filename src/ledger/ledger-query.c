/*
 * What the ledger commands ask of a ledger file: balances per peer and per
 * API key, the receipts, a full re-check, and the export. The file may be
 * another program's, or edited by hand: a row that does not decode is
 * reported, never trusted.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"
#include "ledger/ledger-private.h"
#include "util/hex.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

#define LEDGER_COLUMNS "id, role, peer, session, client_key, node_key, " \
	"model, block_begin, block_end, tokens, units, price, amount, seq, " \
	"time, signature"

/* " AND ..." for the filter, its values bound from index 1 in order. */
static void
ledger_where(const struct ledger_filter *f, struct strbuf *sql)
{
	if (f == NULL)
		return;
	if (f->peer != NULL)
		strbuf_adds(sql, " AND substr(peer, 1, length(?1)) = ?1");
	if (f->model != NULL)
		strbuf_adds(sql, " AND model = ?2");
	if (f->since > 0)
		strbuf_adds(sql, " AND time >= ?3");
}

static void
ledger_bind_filter(sqlite3_stmt *st, const struct ledger_filter *f)
{
	if (f == NULL)
		return;
	if (f->peer != NULL)
		sqlite3_bind_text(st, 1, f->peer, -1, SQLITE_TRANSIENT);
	if (f->model != NULL)
		sqlite3_bind_text(st, 2, f->model, -1, SQLITE_TRANSIENT);
	if (f->since > 0)
		sqlite3_bind_int64(st, 3, f->since);
}

static int
ledger_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, char **cause)
{
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
		return set_cause(cause, "ledger: %s", sqlite3_errmsg(db));
	return 0;
}

static struct ledger_balance *
ledger_balance_get(struct ledger_balance **b, size_t *n, const char *peer)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*b)[i].peer, peer) == 0)
			return &(*b)[i];
	*b = xreallocarray(*b, *n + 1, sizeof(**b));
	memset(&(*b)[*n], 0, sizeof(**b));
	snprintf((*b)[*n].peer, sizeof((*b)[*n].peer), "%s", peer);
	return &(*b)[(*n)++];
}

/* A session counts its latest (largest) receipt: they are cumulative. */
int
ledger_db_balances(sqlite3 *db, const struct ledger_filter *f,
    struct ledger_balance **out, size_t *n, char **cause)
{
	struct strbuf sql = STRBUF_INIT;
	struct ledger_balance *b;
	sqlite3_stmt *st = NULL;
	int rc = -1, step;

	*out = NULL;
	*n = 0;
	strbuf_adds(&sql, "SELECT peer, role, SUM(u), SUM(a) FROM (SELECT "
	    "peer, role, MAX(units) AS u, MAX(amount) AS a FROM receipts "
	    "WHERE 1");
	ledger_where(f, &sql);
	strbuf_adds(&sql, " GROUP BY role, node_key, client_key, session) "
	    "GROUP BY peer, role ORDER BY peer");
	if (ledger_prepare(db, sql.buf, &st, cause) != 0)
		goto out;
	ledger_bind_filter(st, f);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *peer = (const char *)sqlite3_column_text(st, 0);
		const char *role = (const char *)sqlite3_column_text(st, 1);

		if (peer == NULL || role == NULL)
			continue;
		b = ledger_balance_get(out, n, peer);
		if (strcmp(role, "earned") == 0) {
			b->served_units += (uint64_t)sqlite3_column_int64(st, 2);
			b->served_amount += (uint64_t)sqlite3_column_int64(st, 3);
		} else {
			b->used_units += (uint64_t)sqlite3_column_int64(st, 2);
			b->used_amount += (uint64_t)sqlite3_column_int64(st, 3);
		}
	}
	if (step != SQLITE_DONE) {
		set_cause(cause, "ledger: %s", sqlite3_errmsg(db));
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	sqlite3_finalize(st);
	strbuf_release(&sql);
	return rc;
}

static json_t *
ledger_balance_json(const char *name, const char *value, uint64_t su,
    uint64_t sa, uint64_t uu, uint64_t ua)
{
	return json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I}", name, value,
	    "served_units", (json_int_t)su, "served_amount", (json_int_t)sa,
	    "used_units", (json_int_t)uu, "used_amount", (json_int_t)ua,
	    "net_units", (json_int_t)su - (json_int_t)uu,
	    "net_amount", (json_int_t)sa - (json_int_t)ua);
}

static int
ledger_usage_json(sqlite3 *db, const struct ledger_filter *f, json_t *list,
    char **cause)
{
	sqlite3_stmt *st = NULL;
	int step;

	if (ledger_prepare(db, "SELECT key_id, COUNT(*), SUM(tokens_in), "
	    "SUM(tokens_out), SUM(units), SUM(amount) FROM usage WHERE "
	    "(?1 IS NULL OR model = ?1) AND time >= ?2 GROUP BY key_id "
	    "ORDER BY key_id", &st, cause) != 0)
		return -1;
	if (f != NULL && f->model != NULL)
		sqlite3_bind_text(st, 1, f->model, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, f != NULL ? f->since : 0);
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(list, json_pack("{s:s,s:I,s:I,s:I,s:I,"
		    "s:I}", "key", (const char *)sqlite3_column_text(st, 0),
		    "requests", (json_int_t)sqlite3_column_int64(st, 1),
		    "tokens_in", (json_int_t)sqlite3_column_int64(st, 2),
		    "tokens_out", (json_int_t)sqlite3_column_int64(st, 3),
		    "units", (json_int_t)sqlite3_column_int64(st, 4),
		    "amount", (json_int_t)sqlite3_column_int64(st, 5)));
	sqlite3_finalize(st);
	if (step != SQLITE_DONE)
		return set_cause(cause, "ledger: %s", sqlite3_errmsg(db));
	return 0;
}

int
ledger_show(const char *path, const struct ledger_filter *f, json_t **out,
    char **cause)
{
	struct ledger_balance *b = NULL;
	uint64_t t[4] = { 0, 0, 0, 0 };
	json_t *peers, *keys;
	sqlite3 *db = NULL;
	size_t n = 0, i;
	int rc = -1;

	*out = NULL;
	if (ledger_db_open(path, 1, &db, cause) != 0 ||
	    ledger_db_balances(db, f, &b, &n, cause) != 0)
		goto out;
	peers = json_array();
	keys = json_array();
	for (i = 0; i < n; i++) {
		json_array_append_new(peers, ledger_balance_json("peer",
		    b[i].peer, b[i].served_units, b[i].served_amount,
		    b[i].used_units, b[i].used_amount));
		t[0] += b[i].served_units;
		t[1] += b[i].served_amount;
		t[2] += b[i].used_units;
		t[3] += b[i].used_amount;
	}
	if (ledger_usage_json(db, f, keys, cause) != 0) {
		json_decref(peers);
		json_decref(keys);
		goto out;
	}
	*out = json_pack("{s:o,s:o,s:o}", "peers", peers, "totals",
	    ledger_balance_json("peer", "*", t[0], t[1], t[2], t[3]),
	    "api_keys", keys);
	rc = 0;
out:
	free(b);
	sqlite3_close(db);
	return rc;
}

/* A row as a receipt; -1 names what is wrong with it. */
static int
ledger_row_receipt(sqlite3_stmt *st, struct receipt *r, char **cause)
{
	json_t *o;
	int rc;

	o = json_pack("{s:s?,s:s?,s:s?,s:s?,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
	    "s:s?}", "session", (const char *)sqlite3_column_text(st, 3),
	    "client_key", (const char *)sqlite3_column_text(st, 4),
	    "node_key", (const char *)sqlite3_column_text(st, 5),
	    "model_id", (const char *)sqlite3_column_text(st, 6),
	    "block_begin", (json_int_t)sqlite3_column_int64(st, 7),
	    "block_end", (json_int_t)sqlite3_column_int64(st, 8),
	    "tokens", (json_int_t)sqlite3_column_int64(st, 9),
	    "units", (json_int_t)sqlite3_column_int64(st, 10),
	    "price", (json_int_t)sqlite3_column_int64(st, 11),
	    "amount", (json_int_t)sqlite3_column_int64(st, 12),
	    "seq", (json_int_t)sqlite3_column_int64(st, 13),
	    "time", (json_int_t)sqlite3_column_int64(st, 14),
	    "signature", (const char *)sqlite3_column_text(st, 15));
	rc = receipt_from_json(o, r, cause);
	json_decref(o);
	return rc;
}

/* Each receipt row in id order: fn(arg, row id, role, receipt or NULL
 * with why it does not decode). */
static int
ledger_each(const char *path, const struct ledger_filter *f,
    void (*fn)(void *, int64_t, const char *, const char *,
    const struct receipt *, const char *), void *arg, char **cause)
{
	struct strbuf sql = STRBUF_INIT;
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	struct receipt r;
	char *why = NULL;
	int step, rc = -1;

	strbuf_adds(&sql, "SELECT " LEDGER_COLUMNS " FROM receipts WHERE 1");
	ledger_where(f, &sql);
	strbuf_adds(&sql, " ORDER BY id");
	if (ledger_db_open(path, 1, &db, cause) != 0 ||
	    ledger_prepare(db, sql.buf, &st, cause) != 0)
		goto out;
	ledger_bind_filter(st, f);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *role = (const char *)sqlite3_column_text(st, 1);
		const char *peer = (const char *)sqlite3_column_text(st, 2);

		if (ledger_row_receipt(st, &r, &why) == 0)
			fn(arg, sqlite3_column_int64(st, 0), role ? role : "",
			    peer ? peer : "", &r, NULL);
		else
			fn(arg, sqlite3_column_int64(st, 0), role ? role : "",
			    peer ? peer : "", NULL, why);
		free(why);
		why = NULL;
	}
	if (step != SQLITE_DONE) {
		set_cause(cause, "ledger: %s", sqlite3_errmsg(db));
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	strbuf_release(&sql);
	return rc;
}

static void
ledger_list_one(void *arg, int64_t id, const char *role, const char *peer,
    const struct receipt *r, const char *why)
{
	json_t *o;

	if (r == NULL)
		o = json_pack("{s:s}", "error", why);
	else
		o = receipt_to_json(r);
	json_object_set_new(o, "row", json_integer(id));
	json_object_set_new(o, "role", json_string(role));
	json_object_set_new(o, "peer", json_string(peer));
	json_array_append_new(arg, o);
}

int
ledger_list(const char *path, const struct ledger_filter *f, json_t **out,
    char **cause)
{
	*out = json_array();
	if (ledger_each(path, f, ledger_list_one, *out, cause) != 0) {
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* The last receipt seen of each session, for the sequence checks. */
struct ledger_seen {
	char		 key[2 * RECEIPT_KEY_LEN + RECEIPT_SESSION_MAX + 16];
	uint64_t	 seq;
	uint64_t	 units;
	int64_t		 row;
};

struct ledger_check {
	json_t			*bad;
	struct ledger_seen	*seen;
	size_t			 n_seen;
	int64_t			 rows;
};

static void
ledger_bad(struct ledger_check *c, int64_t id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
ledger_bad(struct ledger_check *c, int64_t id, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		abort();
	va_end(ap);
	json_array_append_new(c->bad, json_pack("{s:I,s:s}", "row",
	    (json_int_t)id, "problem", msg));
	free(msg);
}

static struct ledger_seen *
ledger_seen_get(struct ledger_check *c, const char *role,
    const struct receipt *r, int *fresh)
{
	char key[sizeof(c->seen->key)], nk[2 * RECEIPT_KEY_LEN + 1];
	size_t i;

	hex_encode(r->node_key, RECEIPT_KEY_LEN, nk);
	snprintf(key, sizeof(key), "%c%s%s", role[0], nk, r->session);
	for (i = c->n_seen; i > 0; i--)
		if (strcmp(c->seen[i - 1].key, key) == 0) {
			*fresh = 0;
			return &c->seen[i - 1];
		}
	c->seen = xreallocarray(c->seen, c->n_seen + 1, sizeof(*c->seen));
	memset(&c->seen[c->n_seen], 0, sizeof(*c->seen));
	snprintf(c->seen[c->n_seen].key, sizeof(key), "%s", key);
	*fresh = 1;
	return &c->seen[c->n_seen++];
}

static void
ledger_verify_one(void *arg, int64_t id, const char *role, const char *peer,
    const struct receipt *r, const char *why)
{
	struct ledger_check *c = arg;
	char want[RECEIPT_PEER_ID_LEN + 1];
	struct ledger_seen *s;
	int fresh;

	c->rows++;
	if (r == NULL) {
		ledger_bad(c, id, "does not decode: %s", why);
		return;
	}
	if (strcmp(role, "earned") != 0 && strcmp(role, "signed") != 0)
		ledger_bad(c, id, "unknown role '%s'", role);
	if (receipt_verify(r) != 0)
		ledger_bad(c, id, "signature does not verify");
	receipt_peer_id(role[0] == 'e' ? r->client_key : r->node_key, want);
	if (strcmp(peer, want) != 0)
		ledger_bad(c, id, "peer '%.16s' is not the key's", peer);
	if (r->block_end <= r->block_begin || r->units != r->tokens *
	    (r->block_end - r->block_begin))
		ledger_bad(c, id, "units %llu are not tokens x blocks",
		    (unsigned long long)r->units);
	s = ledger_seen_get(c, role, r, &fresh);
	if (!fresh && (r->seq <= s->seq || r->units < s->units))
		ledger_bad(c, id, "sequence %llu (units %llu) after row "
		    "%lld's %llu (units %llu)", (unsigned long long)r->seq,
		    (unsigned long long)r->units, (long long)s->row,
		    (unsigned long long)s->seq, (unsigned long long)s->units);
	s->seq = r->seq;
	s->units = r->units;
	s->row = id;
}

int
ledger_verify(const char *path, json_t **out, char **cause)
{
	struct ledger_check c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.bad = json_array();
	rc = ledger_each(path, NULL, ledger_verify_one, &c, cause);
	free(c.seen);
	if (rc != 0) {
		json_decref(c.bad);
		*out = NULL;
		return -1;
	}
	*out = json_pack("{s:I,s:o}", "receipts", (json_int_t)c.rows, "bad",
	    c.bad);
	return 0;
}

static void
ledger_export_one(void *arg, int64_t id, const char *role, const char *peer,
    const struct receipt *r, const char *why)
{
	json_t *o;
	char *s;

	if (r == NULL)
		return;	/* not a receipt anyone could check */
	o = receipt_to_json(r);
	json_object_set_new(o, "role", json_string(role));
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s == NULL)
		abort();
	strbuf_adds(arg, s);
	strbuf_addc(arg, '\n');
	free(s);
}

int
ledger_export(const char *path, const struct ledger_filter *f,
    struct strbuf *out, char **cause)
{
	return ledger_each(path, f, ledger_export_one, out, cause);
}
