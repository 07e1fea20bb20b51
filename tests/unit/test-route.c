/*
 * Tests for routing: the cheapest chain over block boundaries, entering a
 * peer's span in the middle, skipping unusable peers, and naming the blocks
 * nobody serves; with push, the chain priced one way along it, with the
 * round trips peers measured between them.
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

/* Published round trips between peers for the push tests: < 0 unknown. */
static double test_links[8][8];

static double
test_link(void *arg, size_t from, size_t to)
{
	return test_links[from][to];
}

static void
test_links_clear(void)
{
	size_t i, j;

	for (i = 0; i < 8; i++)
		for (j = 0; j < 8; j++)
			test_links[i][j] = -1;
}

/*
 * A pushed chain costs one way along it: client to the first, peer to
 * peer, the last back to the client, plus compute; without push every
 * hop's full round trip from the client.
 */
static void
test_route_push_cost(void)
{
	struct route_push push = { test_link, NULL, ROUTE_CLIENT,
	    ROUTE_CLIENT };
	struct route_hop h[3] = { { 0, 2, 0 }, { 2, 4, 1 }, { 4, 5, 2 } };

	test_links_clear();
	test_add(0, 0, 2, 100, 0.040);		/* 20 ms compute */
	test_add(1, 2, 4, 100, 0.060);		/* 20 ms */
	test_add(2, 4, 5, 100, 0.080);		/* 10 ms */
	test_links[0][1] = 0.030;
	test_links[1][2] = 0.050;
	/* 20 + 15 + 25 + 40 one way, 50 compute */
	CHECK(fabs(route_chain_cost(test_peers, &push, h, 3) - 0.150) < 1e-9);
	/* 40 + 60 + 80 round trips, 50 compute */
	CHECK(fabs(route_chain_cost(test_peers, NULL, h, 3) - 0.230) < 1e-9);
	/* Not measured: the larger round trip from the client, 60 and 80. */
	test_links[0][1] = test_links[1][2] = -1;
	CHECK(fabs(route_link_rtt(test_peers, &push, 0, 1) - 0.060) < 1e-9);
	CHECK(fabs(route_link_rtt(test_peers, &push, 2, 1) - 0.080) < 1e-9);
	CHECK(fabs(route_chain_cost(test_peers, &push, h, 3) - 0.180) < 1e-9);
	CHECK(fabs(route_chain_cost(test_peers, NULL, h, 3) - 0.230) < 1e-9);
	/* The client's ends, and a peer to itself (no push): its round trip. */
	CHECK(fabs(route_link_rtt(test_peers, &push, ROUTE_CLIENT, 2) -
	    0.080) < 1e-9);
	CHECK(fabs(route_link_rtt(test_peers, &push, 1, ROUTE_CLIENT) -
	    0.060) < 1e-9);
	CHECK(fabs(route_link_rtt(test_peers, &push, 1, 1) - 0.060) < 1e-9);
	/* One hop: there and back, as without push. */
	CHECK(fabs(route_chain_cost(test_peers, &push, h, 1) -
	    route_chain_cost(test_peers, NULL, h, 1)) < 1e-9);
}

/*
 * Two chains whose first peers differ: the one nearer the client is far
 * from the next peer, as that peer measured and published. Without push
 * (or with no link measured) the near one wins; with push the link decides.
 */
static void
test_route_push_links_decide(void)
{
	struct route_push push = { test_link, NULL, ROUTE_CLIENT,
	    ROUTE_CLIENT };
	struct route_hop *h;
	size_t n;

	test_links_clear();
	test_add(0, 0, 5, 1000, 0.010);		/* near the client */
	test_add(1, 0, 5, 1000, 0.030);
	test_add(2, 5, 10, 1000, 0.020);
	CHECK(route_find(test_peers, 3, 0, 10, &h, &n, NULL) == 0);
	CHECK(n == 2 && h[0].peer == 0 && h[1].peer == 2);
	free(h);
	/* Unknown links: estimated 20 and 30 ms, the near one still. */
	CHECK(route_find_push(test_peers, 3, &push, 0, 10, &h, &n, NULL) == 0);
	CHECK(n == 2 && h[0].peer == 0 && h[1].peer == 2);
	CHECK(h[0].begin == 0 && h[0].end == 5 && h[1].begin == 5 &&
	    h[1].end == 10);
	free(h);
	/* Measured: 0 -> 2 is 200 ms, 1 -> 2 is 10 ms. */
	test_links[0][2] = 0.200;
	test_links[1][2] = 0.010;
	CHECK(route_find_push(test_peers, 3, &push, 0, 10, &h, &n, NULL) == 0);
	CHECK(n == 2 && h[0].peer == 1 && h[1].peer == 2);
	/* 15 + 5 + 10 one way, 10 compute */
	CHECK(fabs(route_chain_cost(test_peers, &push, h, n) - 0.040) < 1e-9);
	free(h);
	/* The other way round: the near one again. */
	test_links[0][2] = 0.010;
	test_links[1][2] = 0.200;
	CHECK(route_find_push(test_peers, 3, &push, 0, 10, &h, &n, NULL) == 0);
	CHECK(n == 2 && h[0].peer == 0 && h[1].peer == 2);
	free(h);
	/* Down: the other one, whatever its link. */
	test_peers[0].usable = 0;
	CHECK(route_find_push(test_peers, 3, &push, 0, 10, &h, &n, NULL) == 0);
	CHECK(n == 2 && h[0].peer == 1 && h[1].peer == 2);
	free(h);
	test_peers[0].usable = 1;
	/* One far peer for everything: 100 ms there and back and 10 ms
	 * compute, against 30 ms through peers 0 and 2... */
	test_add(3, 0, 10, 1000, 0.100);
	CHECK(route_find_push(test_peers, 4, &push, 0, 10, &h, &n, NULL) == 0);
	CHECK(n == 2 && h[0].peer == 0);
	free(h);
	/* ...and against 125 ms once both links to peer 2 take 200 ms. */
	test_links[0][2] = 0.200;
	test_links[1][2] = 0.200;
	CHECK(route_find_push(test_peers, 4, &push, 0, 10, &h, &n, NULL) == 0);
	CHECK(n == 1 && h[0].peer == 3 && h[0].begin == 0 && h[0].end == 10);
	free(h);
}

/*
 * A repaired span between two peers of the chain: the replica the
 * neighbours reach best, though the client is nearer the other.
 */
static void
test_route_push_between(void)
{
	struct route_push push = { test_link, NULL, 0, 3 };
	struct route_hop *h;
	char *cause = NULL;
	size_t n;

	test_links_clear();
	test_add(0, 0, 2, 1000, 0.050);
	test_add(1, 2, 4, 1000, 0.005);		/* near the client */
	test_add(2, 2, 4, 1000, 0.040);
	test_add(3, 4, 6, 1000, 0.050);
	test_links[0][1] = 0.090;
	test_links[1][3] = 0.090;
	test_links[0][2] = 0.020;
	test_links[2][3] = 0.020;
	CHECK(route_find_push(test_peers, 4, &push, 2, 4, &h, &n, NULL) == 0);
	CHECK(n == 1 && h[0].peer == 2 && h[0].begin == 2 && h[0].end == 4);
	/* 10 + 2 + 10 */
	CHECK(fabs(route_chain_cost(test_peers, &push, h, n) - 0.022) < 1e-9);
	free(h);
	/* From the client back to it, the near one. */
	push.from = push.to = ROUTE_CLIENT;
	CHECK(route_find_push(test_peers, 4, &push, 2, 4, &h, &n, NULL) == 0);
	CHECK(n == 1 && h[0].peer == 1);
	free(h);
	/* Gaps are named as without push. */
	test_peers[1].usable = test_peers[2].usable = 0;
	CHECK(route_find_push(test_peers, 4, NULL, 0, 6, &h, &n, &cause) ==
	    -1);
	CHECK(h == NULL && n == 0);
	CHECK_STR(cause, "blocks 2:4 have no peer");
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
	TEST_RUN(test_route_push_cost);
	TEST_RUN(test_route_push_links_decide);
	TEST_RUN(test_route_push_between);
	TEST_EXIT();
}
