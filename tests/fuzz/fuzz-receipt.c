/*
 * Fuzzes what a client sends a node for the ledger: the receipt header of
 * a step (its numbers and signature, over terms the node fills in) and a
 * receipt as JSON, as the ledger's files and exports hold them. What
 * decodes must encode back to the same thing, and a signature made up by
 * the fuzzer must not verify.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/receipt.h"
#include "util/xmalloc.h"

#include "fuzz.h"

static void
fuzz_wire(const char *s)
{
	struct receipt r;
	char *cause = NULL, *back;

	memset(&r, 0, sizeof(r));
	if (receipt_wire_decode(s, &r, &cause) != 0) {
		if (cause == NULL)
			abort();
		free(cause);
		return;
	}
	if (r.seq > RECEIPT_NUM_MAX || r.units > RECEIPT_NUM_MAX)
		abort();
	back = receipt_wire_encode(&r);
	/* leading zeros and upper-case hex aside, the same */
	if (strlen(back) > strlen(s))
		abort();
	free(back);
	if (receipt_verify(&r) == 0)
		abort();
}

static void
fuzz_json(const char *s, size_t len)
{
	struct receipt r, again;
	char *cause = NULL;
	json_t *o, *o2;

	if ((o = json_loadb(s, len, 0, NULL)) == NULL)
		return;
	if (receipt_from_json(o, &r, &cause) != 0) {
		if (cause == NULL)
			abort();
		free(cause);
		json_decref(o);
		return;
	}
	json_decref(o);
	o2 = receipt_to_json(&r);
	if (receipt_from_json(o2, &again, NULL) != 0 ||
	    memcmp(&r, &again, sizeof(r)) != 0)
		abort();
	json_decref(o2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size > 4096)
		return 0;
	s = xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_wire(s);
	fuzz_json(s, size);
	free(s);
	return 0;
}
