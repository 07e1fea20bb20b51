/*
 * Tests for src/swarm/balance: --blocks auto fills gaps first, then the
 * weakest blocks; draining peers count for nothing; ties go low.
 */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "core/gguf.h"
#include "util/xmalloc.h"
#include "swarm/balance.h"
#include "swarm/record.h"

static void
rec(struct peer_record *r, uint32_t a, uint32_t b, double tput,
    enum peer_state st)
{
	memset(r, 0, sizeof(*r));
	r->block_begin = a;
	r->block_end = b;
	r->throughput = tput;
	r->state = st;
}

static void
test_balance_empty_swarm(void)
{
	uint32_t a, b;

	balance_choose_span(NULL, 0, 5, 2, &a, &b);
	CHECK(a == 0 && b == 2);
	balance_choose_span(NULL, 0, 5, 0, &a, &b);
	CHECK(a == 0 && b == 5);
	balance_choose_span(NULL, 0, 5, 9, &a, &b);
	CHECK(a == 0 && b == 5);
}

static void
test_balance_fills_gap(void)
{
	struct peer_record r[2];
	uint32_t a, b;

	rec(&r[0], 0, 2, 100, PEER_STATE_ONLINE);
	rec(&r[1], 4, 5, 100, PEER_STATE_ONLINE);
	balance_choose_span(r, 2, 5, 2, &a, &b);
	CHECK(a == 2 && b == 4);
	balance_choose_span(r, 2, 5, 1, &a, &b);
	CHECK(a == 2 && b == 3);
	balance_choose_span(r, 2, 5, 3, &a, &b);
	CHECK(a == 1 && b == 4);
}

static void
test_balance_weakest(void)
{
	struct peer_record r[3];
	uint32_t a, b;

	/* Everything served; [3,5) only by a slow peer. */
	rec(&r[0], 0, 3, 500, PEER_STATE_ONLINE);
	rec(&r[1], 3, 5, 50, PEER_STATE_ONLINE);
	rec(&r[2], 0, 5, 100, PEER_STATE_ONLINE);
	balance_choose_span(r, 3, 5, 2, &a, &b);
	CHECK(a == 3 && b == 5);
	/* A draining peer is as good as none: [0,3) becomes the weakest. */
	r[0].state = PEER_STATE_DRAINING;
	r[1].throughput = 500;
	balance_choose_span(r, 3, 5, 2, &a, &b);
	CHECK(a == 0 && b == 2);
}

static void
test_balance_ignores_out_of_range(void)
{
	struct peer_record r[1];
	uint32_t a, b;

	rec(&r[0], 0, 100, 100, PEER_STATE_ONLINE);
	balance_choose_span(r, 1, 4, 2, &a, &b);
	CHECK(a == 0 && b == 2);
}

static void
test_balance_fit(void)
{
	struct gguf_file *f;
	const struct gguf_tensor *t;
	char *path, *cause = NULL;
	uint64_t block = 0, i;

	path = xasprintf("%s/stories260K.gguf", test_models_dir());
	f = gguf_open(path, &cause);
	free(path);
	CHECKF(f != NULL, "%s", cause);
	for (i = 0; i < f->n_tensors; i++) {
		t = &f->tensors[i];
		if (strncmp(t->name, "blk.0.", 6) == 0)
			block += t->n_bytes;
	}
	CHECK(block > 0);
	CHECK(balance_blocks_that_fit(f, 5, UINT64_MAX) == 5);
	CHECK(balance_blocks_that_fit(f, 5, block * 5) == 5);
	CHECK(balance_blocks_that_fit(f, 5, block * 5 / 2) == 2);
	CHECK(balance_blocks_that_fit(f, 5, 1) == 1);
	gguf_close(f);
}

int
main(void)
{
	TEST_RUN(test_balance_empty_swarm);
	TEST_RUN(test_balance_fills_gap);
	TEST_RUN(test_balance_weakest);
	TEST_RUN(test_balance_ignores_out_of_range);
	TEST_RUN(test_balance_fit);
	TEST_EXIT();
}
