/*
 * Tests for src/ledger and the node's side of it: receipts sign and verify
 * over their canonical bytes and a changed field breaks them; the wire and
 * JSON forms round-trip and refuse malformed input; the node's check tells
 * forged, inflated, replayed and repeated receipts apart; the store keeps
 * batches, balances count a session's latest receipt, and verify names an
 * edited row; the merit queue serves creditors first and ages the rest.
 */
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "ledger/ledger.h"
#include "ledger/receipt.h"
#include "swarm/identity.h"
#include "swarm/node-ledger.h"
#include "swarm/node-queue.h"
#include "util/clock.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

static struct identity test_client, test_node, test_other;

static void
test_receipt_make(struct receipt *r, const struct identity *signer,
    uint64_t tokens, uint64_t seq)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->session, sizeof(r->session), "00000000000000ab");
	memcpy(r->client_key, test_client.pk, RECEIPT_KEY_LEN);
	memcpy(r->node_key, test_node.pk, RECEIPT_KEY_LEN);
	snprintf(r->model_id, sizeof(r->model_id), "llama-f32-0123456789ab");
	r->block_begin = 2;
	r->block_end = 4;
	r->tokens = tokens;
	r->units = tokens * 2;
	r->price = 1500;
	r->amount = receipt_amount(r->units, r->price);
	r->seq = seq;
	r->time = 1700000000;
	receipt_sign(r, signer->sk);
}

static void
test_receipt_sign_verify(void)
{
	struct receipt r, t;
	char *terms;

	test_receipt_make(&r, &test_client, 10, 3);
	CHECK(receipt_verify(&r) == 0);
	terms = receipt_terms(&r);
	CHECK(strncmp(terms, "swarm-receipt-v1\n00000000000000ab\n", 34) == 0);
	CHECK(strstr(terms, "\n2\n4\n10\n20\n1500\n30\n3\n1700000000\n") !=
	    NULL);
	free(terms);
	t = r;
	t.units++;
	CHECK(receipt_verify(&t) != 0);
	t = r;
	t.node_key[0] ^= 1;
	CHECK(receipt_verify(&t) != 0);
	t = r;
	t.sig[5] ^= 1;
	CHECK(receipt_verify(&t) != 0);
	test_receipt_make(&t, &test_other, 10, 3);
	CHECK(receipt_verify(&t) != 0);
	CHECK(receipt_amount(UINT64_MAX, 2) == UINT64_MAX);
}

static void
test_receipt_wire(void)
{
	struct receipt r, back;
	char *w, *bad;
	char *cause = NULL;

	test_receipt_make(&r, &test_client, 7, 9);
	w = receipt_wire_encode(&r);
	CHECK(strlen(w) < 180);
	back = r;
	memset(back.sig, 0, sizeof(back.sig));
	back.units = back.seq = 0;
	CHECK(receipt_wire_decode(w, &back, &cause) == 0);
	CHECK(memcmp(&back, &r, sizeof(r)) == 0);
	bad = xasprintf("1,2,3,4,5,%.127s", strrchr(w, ',') + 1);
	CHECK(receipt_wire_decode(bad, &back, &cause) == -1);
	free(cause);
	cause = NULL;
	free(bad);
	CHECK(receipt_wire_decode("99999999999999999999,1,2,3,4,00", &back,
	    &cause) == -1);
	free(cause);
	cause = NULL;
	CHECK(receipt_wire_decode("-1,1,2,3,4,00", &back, &cause) == -1);
	free(cause);
	free(w);
}

static void
test_receipt_json(void)
{
	struct receipt r, back;
	char *cause = NULL;
	json_t *o;

	test_receipt_make(&r, &test_client, 5, 1);
	o = receipt_to_json(&r);
	CHECK(receipt_from_json(o, &back, &cause) == 0);
	CHECK(memcmp(&back, &r, sizeof(r)) == 0);
	json_object_set_new(o, "signature", json_string("zz"));
	CHECK(receipt_from_json(o, &back, &cause) == -1);
	free(cause);
	cause = NULL;
	json_object_set_new(o, "units", json_integer(-5));
	CHECK(receipt_from_json(o, &back, &cause) == -1);
	free(cause);
	json_decref(o);
}

static void
test_node_ledger_verdicts(void)
{
	struct node_ledger_account a;
	struct receipt r;

	node_ledger_account_init(&a, "00000000000000ab", test_client.pk,
	    test_node.pk, "llama-f32-0123456789ab", 2, 4, 1500);
	a.tokens = 5;
	test_receipt_make(&r, &test_other, 5, 1);
	CHECK(node_ledger_check(&a, &r) == NODE_RECEIPT_FORGED);
	test_receipt_make(&r, &test_client, 6, 1);
	CHECK(node_ledger_check(&a, &r) == NODE_RECEIPT_INFLATED);
	test_receipt_make(&r, &test_client, 4, 1);
	CHECK(node_ledger_check(&a, &r) == NODE_RECEIPT_OK);
	a.last = r;
	CHECK(node_ledger_check(&a, &r) == NODE_RECEIPT_REPEATED);
	test_receipt_make(&r, &test_client, 5, 1);
	CHECK(node_ledger_check(&a, &r) == NODE_RECEIPT_REPLAYED);
	test_receipt_make(&r, &test_client, 3, 2);	/* fewer units */
	CHECK(node_ledger_check(&a, &r) == NODE_RECEIPT_MALFORMED);
	test_receipt_make(&r, &test_client, 5, 2);
	CHECK(node_ledger_check(&a, &r) == NODE_RECEIPT_OK);
}

static char *
test_tmp_db(void)
{
	char dir[] = "/tmp/swarm-test-ledger-XXXXXX";

	if (mkdtemp(dir) == NULL)
		abort();
	return xasprintf("%s/ledger.db", dir);
}

static void
test_tmp_remove(char *path)
{
	char *p;

	p = xasprintf("%s-wal", path);
	unlink(p);
	free(p);
	p = xasprintf("%s-shm", path);
	unlink(p);
	free(p);
	unlink(path);
	*strrchr(path, '/') = '\0';
	rmdir(path);
	free(path);
}

/*
 * Processes opening one new ledger at the same moment (nodes started
 * together from one home): every one opens it. SQLite answers some lock
 * upgrades busy at once instead of waiting (they could deadlock).
 */
static void
test_ledger_open_together(void)
{
	enum { PROCS = 12, ROUNDS = 12 };
	pid_t pids[PROCS];
	int round, i, st, failed = 0;

	for (round = 0; round < ROUNDS; round++) {
		char *path = test_tmp_db();

		for (i = 0; i < PROCS; i++) {
			if ((pids[i] = fork()) == 0) {
				char *cause = NULL;
				struct ledger *l = ledger_open(path, &cause);
				struct ledger_balance *b = NULL;
				size_t n;
				int bad = l == NULL || ledger_balances(l, &b,
				    &n, &cause) != 0;

				if (bad)
					fprintf(stderr, "  open: %s\n", cause);
				free(b);
				ledger_close(l);
				_exit(bad);
			}
		}
		for (i = 0; i < PROCS; i++)
			if (pids[i] < 0 || waitpid(pids[i], &st, 0) != pids[i] ||
			    !WIFEXITED(st) || WEXITSTATUS(st) != 0)
				failed++;
		test_tmp_remove(path);
	}
	CHECKF(failed == 0, "%d of %d opens failed", failed, PROCS * ROUNDS);
}

static void
test_ledger_store(void)
{
	char *path = test_tmp_db(), *cause = NULL, peer[65];
	struct ledger_balance *b = NULL;
	struct ledger *l;
	struct receipt r;
	json_t *o = NULL, *bad;
	sqlite3 *db;
	size_t n = 0, i;
	uint64_t s;

	CHECK((l = ledger_open(path, &cause)) != NULL);
	for (s = 1; s <= 4; s++) {
		test_receipt_make(&r, &test_client, s, s);
		ledger_add_receipt(l, LEDGER_EARNED, &r);
	}
	test_receipt_make(&r, &test_client, 3, 1);
	ledger_add_receipt(l, LEDGER_SIGNED, &r);
	ledger_close(l);
	CHECK((l = ledger_open(path, &cause)) != NULL);
	CHECK(ledger_balances(l, &b, &n, &cause) == 0);
	ledger_close(l);
	receipt_peer_id(test_client.pk, peer);
	CHECK(n == 2);
	/* the client's: the latest of its session, not the sum */
	CHECK(strcmp(b[0].peer, peer) == 0 || strcmp(b[1].peer, peer) == 0);
	CHECK(b[0].served_units + b[1].served_units == 8);
	CHECK(b[0].used_units + b[1].used_units == 6);
	free(b);
	CHECK(ledger_verify(path, &o, &cause) == 0);
	CHECK(json_array_size(json_object_get(o, "bad")) == 0);
	CHECK(json_integer_value(json_object_get(o, "receipts")) == 5);
	json_decref(o);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "UPDATE receipts SET seq = 1 WHERE id = 3",
	    NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	CHECK(ledger_verify(path, &o, &cause) == 0);
	/* its signature and its sequence: both on row 3, no other */
	bad = json_object_get(o, "bad");
	CHECK(json_array_size(bad) == 2);
	for (i = 0; i < json_array_size(bad); i++)
		CHECK(json_integer_value(json_object_get(json_array_get(bad,
		    i), "row")) == 3);
	json_decref(o);
	test_tmp_remove(path);
}

static void
test_ledger_when(void)
{
	int64_t t;
	char *cause = NULL;

	CHECK(ledger_parse_when("1700000000", 0, &t, &cause) == 0 &&
	    t == 1700000000);
	CHECK(ledger_parse_when("2h", 10000, &t, &cause) == 0 && t == 2800);
	CHECK(ledger_parse_when("1970-01-02", 0, &t, &cause) == 0 &&
	    t == 86400);
	CHECK(ledger_parse_when("soon", 0, &t, &cause) == -1);
	free(cause);
}

struct test_queue_arg {
	struct node_queue	*q;
	int			 creditor;
	int			 tag;
	int			*order;
	int			*n_order;
	pthread_mutex_t		*mu;
};

static void *
test_queue_worker(void *arg)
{
	struct test_queue_arg *a = arg;

	node_queue_enter(a->q, a->creditor);
	pthread_mutex_lock(a->mu);
	a->order[(*a->n_order)++] = a->tag;
	pthread_mutex_unlock(a->mu);
	node_queue_leave(a->q);
	return NULL;
}

static void
test_queue_creditor_first(void)
{
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	struct test_queue_arg args[3];
	struct node_queue q;
	pthread_t th[3];
	int order[3], n = 0, i;

	node_queue_init(&q);
	node_queue_enter(&q, 0);	/* busy: the others queue */
	for (i = 0; i < 3; i++) {
		args[i] = (struct test_queue_arg){ &q, i == 2, i, order, &n,
		    &mu };
		pthread_create(&th[i], NULL, test_queue_worker, &args[i]);
		clock_sleep(0.05);
	}
	node_queue_leave(&q);
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	node_queue_release(&q);
	/* the creditor arrived last and went first; the rest in order */
	CHECK(n == 3 && order[0] == 2 && order[1] == 0 && order[2] == 1);
}

int
main(void)
{
	identity_generate(&test_client);
	identity_generate(&test_node);
	identity_generate(&test_other);
	TEST_RUN(test_receipt_sign_verify);
	TEST_RUN(test_receipt_wire);
	TEST_RUN(test_receipt_json);
	TEST_RUN(test_node_ledger_verdicts);
	TEST_RUN(test_ledger_open_together);
	TEST_RUN(test_ledger_store);
	TEST_RUN(test_ledger_when);
	TEST_RUN(test_queue_creditor_first);
	TEST_EXIT();
}
