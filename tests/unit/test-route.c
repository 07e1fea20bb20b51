/*
 * Tests for routing: the cheapest chain over block boundaries, entering a
 * peer's span in the middle, skipping unusable peers, and naming the blocks
 * nobody serves.
 */
#include "test.h"
#include "swarm/route.h"
#include "util/xmalloc.h"

static struct peer_record test_recs[8];
static struct route_peer test_peers[8];

static void
test_add(size_t i, uint32_t a, uint32_t b, double tp, double rtt)
{
	memset(&test_recs[i], 0, sizeof(test_recs[i]));
	snprintf(test_recs[i].addr, sizeof(test_recs[i].addr), "p%zu", i);
	test_recs[i].block_begin = a;
	test_recs[i].block_end = b;
	test_recs[i].throughput = tp;
	test_peers[i].rec = &test_recs[i];
	test_peers[i].rtt = rtt;
	test_peers[i].usable = 1;
}

static void
test_route_prefers_cheap(void)
{
	struct route_hop *h;
	size_t n;

	/* [0,10) in one slow hop vs two fast ones with a small round trip. */
	test_add(0, 0, 10, 10, 0.001);		/* 1.001 s */
	test_add(1, 0, 5, 1000, 0.001);		/* 0.006 s */
	test_add(2, 5, 10, 1000, 0.001);	/* 0.006 s */
	CHECK(route_find(test_peers, 3, 0, 10, &h, &n, NULL) == 0);
	CHECK(n == 2);
	CHECK(h[0].peer == 1 && h[0].begin == 0 && h[0].end == 5);
	CHECK(h[1].peer == 2 && h[1].begin == 5 && h[1].end == 10);
	free(h);
	/* With a large round trip one hop wins. */
	test_peers[1].rtt = test_peers[2].rtt = 1;
	CHECK(route_find(test_peers, 3, 0, 10, &h, &n, NULL) == 0);
	CHECK(n == 1 && h[0].peer == 0);
	free(h);
}

/* Price counts: of two like peers the cheaper; a dear one loses even to
 * a slower one once its price outweighs the time. */
static void
test_route_counts_price(void)
{
	struct route_hop *h;
	size_t n;

	test_add(0, 0, 10, 1000, 0.001);
	test_add(1, 0, 10, 1000, 0.001);
	test_recs[0].price = 2;
	test_recs[1].price = 1;
	CHECK(route_find(test_peers, 2, 0, 10, &h, &n, NULL) == 0);
	CHECK(n == 1 && h[0].peer == 1);
	free(h);
	test_recs[1].throughput = 500;	/* 10 ms slower, a credit cheaper */
	test_recs[0].price = 100;
	CHECK(route_find(test_peers, 2, 0, 10, &h, &n, NULL) == 0);
	CHECK(n == 1 && h[0].peer == 1);
	free(h);
	CHECK(route_hop_cost(&test_peers[0], 0, 10) > 1.0);
}

/*
 * The round trip measured from the client counts: of two replicas the near
 * one, and a far one only when its speed saves more time than its longer
 * round trip costs.
 */
static void
test_route_latency(void)
{
	struct route_hop *h;
	size_t n;

	test_add(0, 0, 10, 1000, 0.100);	/* 50 ms away: 0.110 s */
	test_add(1, 0, 10, 1000, 0.010);	/* 5 ms away: 0.020 s */
	CHECK(route_find(test_peers, 2, 0, 10, &h, &n, NULL) == 0);
	CHECK(n == 1 && h[0].peer == 1);
	free(h);
	CHECK(fabs(route_hop_cost(&test_peers[1], 0, 10) - 0.020) < 1e-9);
	/* The near one computes 80 ms slower: still the near one (0.090
	 * against 0.110)... */
	test_recs[1].throughput = 10.0 / 0.080;
	CHECK(route_find(test_peers, 2, 0, 10, &h, &n, NULL) == 0);
	CHECK(n == 1 && h[0].peer == 1);
	free(h);
	/* ...100 ms slower: the far one saves 0.010 s. */
	test_recs[1].throughput = 10.0 / 0.110;
	CHECK(route_find(test_peers, 2, 0, 10, &h, &n, NULL) == 0);
	CHECK(n == 1 && h[0].peer == 0);
	free(h);
	/* Gone (banned after a failure): the far one; back: the near one. */
	test_recs[1].throughput = 1000;
	test_peers[1].usable = 0;
	CHECK(route_find(test_peers, 2, 0, 10, &h, &n, NULL) == 0);
	CHECK(n == 1 && h[0].peer == 0);
	free(h);
	test_peers[1].usable = 1;
	CHECK(route_find(test_peers, 2, 0, 10, &h, &n, NULL) == 0);
	CHECK(n == 1 && h[0].peer == 1);
	free(h);
}

static void
test_route_overlap_and_subspan(void)
{
	struct route_hop *h;
	size_t n;

	/* Overlapping spans: [0,6) then [4,10) entered at 6. */
	test_add(0, 0, 6, 100, 0.001);
	test_add(1, 4, 10, 100, 0.001);
	CHECK(route_find(test_peers, 2, 0, 10, &h, &n, NULL) == 0);
	CHECK(n == 2 && h[0].end == 6 && h[1].begin == 6 && h[1].end == 10);
	CHECK(h[1].peer == 1);
	free(h);
	/* A failed hop's blocks only: [3,8) from the same peers. */
	CHECK(route_find(test_peers, 2, 3, 8, &h, &n, NULL) == 0);
	CHECK(n == 2 && h[0].begin == 3 && h[0].end == 6 && h[1].end == 8);
	free(h);
}

static void
test_route_unusable_and_gaps(void)
{
	struct route_hop *h;
	char *cause = NULL;
	size_t n;

	test_add(0, 0, 2, 100, 0.001);
	test_add(1, 2, 4, 1e9, 0);
	test_add(2, 2, 4, 100, 0.001);
	test_add(3, 4, 5, 100, 0.001);
	test_peers[1].usable = 0;	/* banned: the cheap one is skipped */
	CHECK(route_find(test_peers, 4, 0, 5, &h, &n, NULL) == 0);
	CHECK(n == 3 && h[1].peer == 2);
	free(h);
	test_peers[2].usable = 0;
	CHECK(route_find(test_peers, 4, 0, 5, &h, &n, &cause) == -1);
	CHECK(h == NULL && n == 0);
	CHECK_STR(cause, "blocks 2:4 have no peer");
	free(cause);
	cause = NULL;
	test_peers[3].usable = 0;
	CHECK(route_find(test_peers, 4, 0, 5, &h, &n, &cause) == -1);
	CHECK_STR(cause, "blocks 2:5 have no peer");
	free(cause);
	cause = NULL;
	test_add(1, 3, 4, 100, 0);
	CHECK(route_find(test_peers, 4, 0, 6, &h, &n, &cause) == -1);
	CHECK_STR(cause, "block 2 has no peer, blocks 4:6 have no peer");
	free(cause);
	cause = NULL;
	CHECK(route_find(test_peers, 0, 0, 3, &h, &n, &cause) == -1);
	CHECK_STR(cause, "blocks 0:3 have no peer");
	free(cause);
}

int
main(void)
{
	TEST_RUN(test_route_prefers_cheap);
	TEST_RUN(test_route_counts_price);
	TEST_RUN(test_route_latency);
	TEST_RUN(test_route_overlap_and_subspan);
	TEST_RUN(test_route_unusable_and_gaps);
	TEST_EXIT();
}
