/*
 * The ledger's store: the schema, the writer thread and its batches, and
 * the balances a node keeps its policy by. The queries for the commands
 * are in ledger-query.c.
 *
 * A row keeps the other party's peer id beside the keys it derives from,
 * so that balances per peer are one GROUP BY; ledger_verify checks that it
 * still matches the keys.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "ledger/ledger.h"
#include "ledger/ledger-private.h"
#include "util/clock.h"
#include "util/hex.h"
#include "util/xmalloc.h"

/* Tries of a new ledger's set-up that found it locked (about 2 s). */
#define LEDGER_OPEN_TRIES	60

struct ledger_entry {
	int			 is_usage;
	enum ledger_role	 role;
	struct receipt		 r;
	struct ledger_usage	 u;
};

struct ledger {
	sqlite3			*db;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cond;
	struct ledger_entry	*queue;
	size_t			 n_queue;
	size_t			 cap_queue;
	int			 stopping;
	pthread_t		 writer;
	int			 writer_running;
	pthread_mutex_t		 db_mu;	/* the connection: writer vs readers */
};

static const char ledger_schema[] =
    "CREATE TABLE IF NOT EXISTS receipts ("
    " id INTEGER PRIMARY KEY, role TEXT NOT NULL, peer TEXT NOT NULL,"
    " session TEXT NOT NULL, client_key TEXT NOT NULL,"
    " node_key TEXT NOT NULL, model TEXT NOT NULL,"
    " block_begin INTEGER NOT NULL, block_end INTEGER NOT NULL,"
    " tokens INTEGER NOT NULL, units INTEGER NOT NULL,"
    " price INTEGER NOT NULL, amount INTEGER NOT NULL,"
    " seq INTEGER NOT NULL, time INTEGER NOT NULL,"
    " signature TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS receipts_session ON receipts"
    " (role, node_key, session, seq);"
    "CREATE TABLE IF NOT EXISTS usage ("
    " id INTEGER PRIMARY KEY, key_id TEXT NOT NULL, model TEXT NOT NULL,"
    " tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL,"
    " units INTEGER NOT NULL, amount INTEGER NOT NULL,"
    " time INTEGER NOT NULL);";

int
ledger_db_open(const char *path, int readonly, sqlite3 **db, char **cause)
{
	int flags = readonly ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;

	*db = NULL;
	if (readonly && access(path, F_OK) != 0)
		return set_cause(cause, "no ledger at '%s': nothing accounted "
		    "yet", path);

	if (sqlite3_open_v2(path, db, flags | SQLITE_OPEN_FULLMUTEX, NULL) !=
	    SQLITE_OK) {
		set_cause(cause, "cannot open '%s': %s", path, *db != NULL ?
		    sqlite3_errmsg(*db) : "out of memory");
		sqlite3_close(*db);
		*db = NULL;
		return -1;
	}
	sqlite3_busy_timeout(*db, 5000);
	return 0;
}

const char *
ledger_role_name(enum ledger_role role)
{
	return role == LEDGER_EARNED ? "earned" : "signed";
}

static int
ledger_exec(sqlite3 *db, const char *sql, char **cause)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		set_cause(cause, "ledger: %s", err != NULL ? err : "error");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

static void
ledger_bind_receipt(sqlite3_stmt *st, enum ledger_role role,
    const struct receipt *r)
{
	char ck[2 * RECEIPT_KEY_LEN + 1], nk[2 * RECEIPT_KEY_LEN + 1];
	char sig[2 * RECEIPT_SIG_LEN + 1], peer[RECEIPT_PEER_ID_LEN + 1];

	hex_encode(r->client_key, RECEIPT_KEY_LEN, ck);
	hex_encode(r->node_key, RECEIPT_KEY_LEN, nk);
	hex_encode(r->sig, RECEIPT_SIG_LEN, sig);
	/* The other party: the client for a node, the node for a client. */
	receipt_peer_id(role == LEDGER_EARNED ? r->client_key : r->node_key,
	    peer);
	sqlite3_bind_text(st, 1, ledger_role_name(role), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, peer, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, r->session, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, ck, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, nk, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, r->model_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 7, r->block_begin);
	sqlite3_bind_int64(st, 8, r->block_end);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)r->tokens);
	sqlite3_bind_int64(st, 10, (sqlite3_int64)r->units);
	sqlite3_bind_int64(st, 11, (sqlite3_int64)r->price);
	sqlite3_bind_int64(st, 12, (sqlite3_int64)r->amount);
	sqlite3_bind_int64(st, 13, (sqlite3_int64)r->seq);
	sqlite3_bind_int64(st, 14, r->time);
	sqlite3_bind_text(st, 15, sig, -1, SQLITE_TRANSIENT);
}

static void
ledger_bind_usage(sqlite3_stmt *st, const struct ledger_usage *u)
{
	sqlite3_bind_text(st, 1, u->key_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, u->model, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)u->tokens_in);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)u->tokens_out);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)u->units);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)u->amount);
	sqlite3_bind_int64(st, 7, u->time);
}

/* Writes entries in one transaction; called with db_mu held. */
static int
ledger_write(struct ledger *l, const struct ledger_entry *e, size_t n,
    char **cause)
{
	sqlite3_stmt *ins_r = NULL, *ins_u = NULL, *st;
	size_t i;
	int rc = -1;

	if (sqlite3_prepare_v2(l->db, "INSERT INTO receipts (role, peer, "
	    "session, client_key, node_key, model, block_begin, block_end, "
	    "tokens, units, price, amount, seq, time, signature) VALUES "
	    "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", -1, &ins_r, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(l->db, "INSERT INTO usage (key_id, model, "
	    "tokens_in, tokens_out, units, amount, time) VALUES "
	    "(?,?,?,?,?,?,?)", -1, &ins_u, NULL) != SQLITE_OK) {
		set_cause(cause, "ledger: %s", sqlite3_errmsg(l->db));
		goto out;
	}
	if (ledger_exec(l->db, "BEGIN IMMEDIATE", cause) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		st = e[i].is_usage ? ins_u : ins_r;
		if (e[i].is_usage)
			ledger_bind_usage(st, &e[i].u);
		else
			ledger_bind_receipt(st, e[i].role, &e[i].r);
		if (sqlite3_step(st) != SQLITE_DONE) {
			set_cause(cause, "ledger: %s", sqlite3_errmsg(l->db));
			ledger_exec(l->db, "ROLLBACK", NULL);
			goto out;
		}
		sqlite3_reset(st);
	}
	rc = ledger_exec(l->db, "COMMIT", cause);
out:
	sqlite3_finalize(ins_r);
	sqlite3_finalize(ins_u);
	return rc;
}

/* Takes the queue and writes it; called with mu held, returns with it. */
static int
ledger_drain(struct ledger *l, char **cause)
{
	struct ledger_entry *batch = l->queue;
	size_t n = l->n_queue;
	int rc = 0;

	if (n == 0)
		return 0;
	l->queue = NULL;
	l->n_queue = l->cap_queue = 0;
	pthread_mutex_unlock(&l->mu);
	pthread_mutex_lock(&l->db_mu);
	rc = ledger_write(l, batch, n, cause);
	pthread_mutex_unlock(&l->db_mu);
	free(batch);
	pthread_mutex_lock(&l->mu);
	return rc;
}

static void *
ledger_writer(void *arg)
{
	struct ledger *l = arg;
	struct timespec ts;
	char *cause = NULL;

	pthread_mutex_lock(&l->mu);
	while (!l->stopping) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += LEDGER_FLUSH_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (l->n_queue < LEDGER_BATCH_MAX)
			pthread_cond_timedwait(&l->cond, &l->mu, &ts);
		if (ledger_drain(l, &cause) != 0) {
			/* Nowhere to report from here: stderr, once a batch. */
			fprintf(stderr, "swarm: %s\n", cause);
			free(cause);
			cause = NULL;
		}
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

/*
 * WAL mode and the tables. Processes opening a new ledger at the same
 * moment (nodes started together from one home) meet lock upgrades that
 * SQLite answers busy at once instead of waiting, since two of them
 * waiting on each other would deadlock (1 open in 80 failed, eight at
 * once): every step is safe to repeat, so it is tried again a while.
 */
static int
ledger_init_db(sqlite3 *db, char **cause)
{
	char *err;
	int tries, code;

	for (tries = 0;; tries++) {
		err = NULL;
		if (ledger_exec(db, "PRAGMA journal_mode=WAL", &err) == 0 &&
		    ledger_exec(db, "PRAGMA synchronous=NORMAL", &err) == 0 &&
		    ledger_exec(db, ledger_schema, &err) == 0)
			return 0;
		code = sqlite3_errcode(db) & 0xff;
		if ((code != SQLITE_BUSY && code != SQLITE_LOCKED) ||
		    tries == LEDGER_OPEN_TRIES) {
			*cause = err;
			return -1;
		}
		free(err);
		clock_sleep(0.02 + 0.03 * (double)(tries % 4));
	}
}

struct ledger *
ledger_open(const char *path, char **cause)
{
	struct ledger *l = xcalloc(1, sizeof(*l));

	pthread_mutex_init(&l->mu, NULL);
	pthread_mutex_init(&l->db_mu, NULL);
	pthread_cond_init(&l->cond, NULL);
	if (sodium_init() < 0) {
		set_cause(cause, "cannot initialize libsodium");
		goto fail;
	}
	if (ledger_db_open(path, 0, &l->db, cause) != 0 ||
	    ledger_init_db(l->db, cause) != 0)
		goto fail;
	if (pthread_create(&l->writer, NULL, ledger_writer, l) != 0) {
		set_cause(cause, "cannot start a thread");
		goto fail;
	}
	l->writer_running = 1;
	return l;
fail:
	ledger_close(l);
	return NULL;
}

void
ledger_close(struct ledger *l)
{
	char *cause = NULL;

	if (l == NULL)
		return;
	if (l->writer_running) {
		pthread_mutex_lock(&l->mu);
		l->stopping = 1;
		pthread_cond_broadcast(&l->cond);
		pthread_mutex_unlock(&l->mu);
		pthread_join(l->writer, NULL);
	}
	if (l->db != NULL && ledger_flush(l, &cause) != 0) {
		fprintf(stderr, "swarm: %s\n", cause);
		free(cause);
	}
	sqlite3_close(l->db);
	free(l->queue);
	pthread_mutex_destroy(&l->mu);
	pthread_mutex_destroy(&l->db_mu);
	pthread_cond_destroy(&l->cond);
	free(l);
}

static void
ledger_push(struct ledger *l, const struct ledger_entry *e)
{
	pthread_mutex_lock(&l->mu);
	if (l->n_queue == l->cap_queue) {
		l->cap_queue = l->cap_queue ? 2 * l->cap_queue : 16;
		l->queue = xreallocarray(l->queue, l->cap_queue,
		    sizeof(*l->queue));
	}
	l->queue[l->n_queue++] = *e;
	if (l->n_queue >= LEDGER_BATCH_MAX)
		pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->mu);
}

void
ledger_add_receipt(struct ledger *l, enum ledger_role role,
    const struct receipt *r)
{
	struct ledger_entry e;

	memset(&e, 0, sizeof(e));
	e.role = role;
	e.r = *r;
	ledger_push(l, &e);
}

void
ledger_add_usage(struct ledger *l, const struct ledger_usage *u)
{
	struct ledger_entry e;

	memset(&e, 0, sizeof(e));
	e.is_usage = 1;
	e.u = *u;
	ledger_push(l, &e);
}

int
ledger_flush(struct ledger *l, char **cause)
{
	int rc;

	pthread_mutex_lock(&l->mu);
	rc = ledger_drain(l, cause);
	pthread_mutex_unlock(&l->mu);
	return rc;
}

void
ledger_key_id(const char *key, char out[17])
{
	uint8_t h[32];

	if (sodium_init() < 0)
		abort();
	crypto_generichash(h, sizeof(h), (const uint8_t *)key, strlen(key),
	    NULL, 0);
	hex_encode(h, 8, out);
}

int
ledger_balances(struct ledger *l, struct ledger_balance **out, size_t *n,
    char **cause)
{
	int rc;

	pthread_mutex_lock(&l->db_mu);
	rc = ledger_db_balances(l->db, NULL, out, n, cause);
	pthread_mutex_unlock(&l->db_mu);
	return rc;
}
