/*
 * Routing: which peers a client's hidden states go through. A chain is the
 * shortest path over block boundaries a..b where a peer serving [s, e) offers
 * a hop from any boundary i in [s, e) to e (or b, if sooner), costing its
 * round trip plus the blocks it runs over its throughput (Petals' rule),
 * plus its price for them (ROUTE_SECONDS_PER_CREDIT).
 *
 * With push (route_find_push) a step goes one way along the chain: client
 * to the first peer, each peer to the next, the last back to the client.
 * A chain then costs half of each of those links' round trips (one way
 * each), plus every hop's compute and price. A link between two peers is
 * priced at the round trip the upstream peer measured to the downstream
 * one and published (the rtt object of its /info), when known; else at the
 * larger of the two peers' round trips from the client (route_link_rtt).
 */
#ifndef SWARM_SWARM_ROUTE_H
#define SWARM_SWARM_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "swarm/record.h"

/* What a credit is worth against latency when choosing a chain. */
#define ROUTE_SECONDS_PER_CREDIT	1.0

struct route_hop {
	uint32_t	 begin;
	uint32_t	 end;
	size_t		 peer;	/* index into the records */
};

struct route_peer {
	const struct peer_record	*rec;
	double				 rtt;	/* seconds */
	int				 usable;
};

/*
 * The cheapest chain over [begin, end) (allocated hops, in order). When no
 * chain exists, fails with the blocks nobody serves, as spans are written
 * everywhere (A:B, B excluded): "blocks 12:16 have no peer".
 */
int	route_find(const struct route_peer *, size_t n, uint32_t begin,
	    uint32_t end, struct route_hop **hops, size_t *n_hops,
	    char **cause);
/* Cost of one hop, seconds: its round trip from the client, compute and
 * price. */
double	route_hop_cost(const struct route_peer *, uint32_t begin,
	    uint32_t end);

/* An end of a pushed chain that is the client rather than a peer. */
#define ROUTE_CLIENT	((size_t)-1)

struct route_push {
	/*
	 * The round trip peer from measured to peer to (indices into the
	 * peers), seconds; < 0: not known. NULL: none is known.
	 */
	double	(*link)(void *arg, size_t from, size_t to);
	void	*arg;
	/* Who sends the chain its input and who takes its output: the
	 * neighbours of a repaired span, or ROUTE_CLIENT. */
	size_t	 from;
	size_t	 to;
};

/*
 * The round trip of the link from -> to (either may be ROUTE_CLIENT): the
 * published one, else the estimate, max(rtt from, rtt to). A peer to
 * itself cannot push (its steps go through the client): its round trip.
 */
double	route_link_rtt(const struct route_peer *, const struct route_push *,
	    size_t from, size_t to);
/* route_find for a pushed chain, priced as above (push NULL: from the
 * client back to it, no link measured). */
int	route_find_push(const struct route_peer *, size_t n,
	    const struct route_push *, uint32_t begin, uint32_t end,
	    struct route_hop **hops, size_t *n_hops, char **cause);
/* Cost of a chain, seconds: pushed (push not NULL) or not. */
double	route_chain_cost(const struct route_peer *,
	    const struct route_push *, const struct route_hop *, size_t n_hops);

#endif
