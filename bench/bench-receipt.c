/*
 * What a receipt costs: signatures and verifications per second (the
 * client signs one per step per hop, the node verifies it), the bytes it
 * adds to a step request, and the ledger's batched writes per second.
 * Not part of `make test`; bench/bench-ledger.sh runs it.
 *
 *	build/bench/bench-receipt [N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger/ledger.h"
#include "ledger/receipt.h"
#include "swarm/identity.h"
#include "util/clock.h"
#include "util/xmalloc.h"

int
main(int argc, char **argv)
{
	struct identity client, node;
	struct receipt r;
	struct ledger *l;
	char dir[] = "/tmp/bench-receipt-XXXXXX", *path, *wire, *cause = NULL;
	int n = argc > 1 ? atoi(argv[1]) : 20000, i, bad = 0;
	double t0, sign_s, verify_s, write_s;

	if (n < 1)
		n = 20000;
	identity_generate(&client);
	identity_generate(&node);
	memset(&r, 0, sizeof(r));
	snprintf(r.session, sizeof(r.session), "0123456789abcdef");
	memcpy(r.client_key, client.pk, sizeof(r.client_key));
	memcpy(r.node_key, node.pk, sizeof(r.node_key));
	snprintf(r.model_id, sizeof(r.model_id), "llama-q4_0-0123456789ab");
	r.block_begin = 7;
	r.block_end = 14;
	r.price = 125000;
	r.time = 1796000000;
	t0 = clock_now();
	for (i = 0; i < n; i++) {
		r.tokens = (uint64_t)i + 1;
		r.units = r.tokens * 7;
		r.amount = receipt_amount(r.units, r.price);
		r.seq = (uint64_t)i + 1;
		receipt_sign(&r, client.sk);
	}
	sign_s = clock_now() - t0;
	t0 = clock_now();
	for (i = 0; i < n; i++)
		bad += receipt_verify(&r) != 0;
	verify_s = clock_now() - t0;
	wire = receipt_wire_encode(&r);
	if (mkdtemp(dir) == NULL)
		return 1;
	path = xasprintf("%s/ledger.db", dir);
	if ((l = ledger_open(path, &cause)) == NULL) {
		fprintf(stderr, "bench-receipt: %s\n", cause);
		return 1;
	}
	t0 = clock_now();
	for (i = 0; i < n; i++)
		ledger_add_receipt(l, LEDGER_EARNED, &r);
	ledger_close(l);
	write_s = clock_now() - t0;
	printf("signatures: %.0f/s (%.1f us each)\n", n / sign_s,
	    1e6 * sign_s / n);
	printf("verifications: %.0f/s (%.1f us each)%s\n", n / verify_s,
	    1e6 * verify_s / n, bad ? " SOME FAILED" : "");
	printf("ledger writes: %.0f receipts/s, batched\n", n / write_s);
	printf("wire: %zu bytes per receipt (header line \"%s: %.24s...\")\n",
	    strlen(RECEIPT_HEADER) + 2 + strlen(wire) + 2, RECEIPT_HEADER,
	    wire);
	free(wire);
	unlink(path);
	free(path);
	path = xasprintf("%s/ledger.db-wal", dir);
	unlink(path);
	free(path);
	path = xasprintf("%s/ledger.db-shm", dir);
	unlink(path);
	free(path);
	rmdir(dir);
	return bad != 0;
}
